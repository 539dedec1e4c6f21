// The landscape page's link and downloads: the link copied, the paths as CSV or JSON, the map as a
// PNG with a legend and a caption, and the way to the tools with this page's settings.

import { copyText, fetchOk, saveBlob } from "./common.js";
import { pathsFigure } from "./landscape_figures.js";
import { $, landscape, page, saveUrl } from "./landscape_page.js";
import { caption, figs, racerViews } from "./landscape_render.js";
import { requestBody } from "./landscape_stream.js";

const { state } = page;

function note(msg) {
  $("share-status").textContent = msg;
}

$("copy-link").addEventListener("click", async () => {
  saveUrl({ now: true });
  note((await copyText(location.href)) ? "Link copied: it reproduces these paths exactly." : `Copy this link: ${location.href}`);
});

async function download(format) {
  note(`Preparing ${format.toUpperCase()}…`);
  try {
    const response = await fetchOk("/api/paths/export", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...requestBody(page.racers), format }),
    });
    saveBlob(await response.blob(), `descent-${state.landscape}.${format}`);
    note(`Saved descent-${state.landscape}.${format}`);
  } catch (err) {
    note(`Export failed: ${err.message}`);
  }
}
$("tune").addEventListener("click", () => {
  saveUrl({ now: true });
  location.assign(`/tools${location.search}`); // the tools page reads this page's link: first racer, start, noise
});
$("download-csv").addEventListener("click", () => download("csv"));
$("download-json").addEventListener("click", () => download("json"));
$("download-png").addEventListener("click", async () => {
  const filename = `descent-${state.landscape}`;
  try {
    if (state.view === "3d") {
      await Plotly.downloadImage(figs.d3, { format: "png", filename, scale: 2 }); // legend and caption included
    } else {
      // one figure of the surface and everything drawn over it, at the current zoom, with a legend
      // of the racers and the settings as a caption below
      const { width, height } = figs.fg.getBoundingClientRect();
      const full = figs.fg._fullLayout;
      const view = [full.xaxis.range.slice(), full.yaxis.range.slice()];
      const base = figs.bg.layout;
      const paths = pathsFigure({ landscape: landscape(), start: state.start, racers: racerViews(), vectors: state.vectors, view });
      const below = 64;
      const layout = {
        ...base,
        xaxis: { ...base.xaxis, range: view[0] },
        yaxis: { ...base.yaxis, range: view[1] },
        width,
        height: height + below,
        margin: { ...base.margin, b: base.margin.b + below },
        showlegend: true,
        legend: { orientation: "h", x: 0, y: 0, yref: "container", yanchor: "bottom", font: { size: 11 } },
        annotations: [captionAnnotation(-(base.margin.b + 4) / (height - base.margin.t - base.margin.b))],
      };
      const figure = { data: [...figs.bg.data, ...paths.data], layout };
      await Plotly.downloadImage(figure, { format: "png", filename, width, height: height + below, scale: 2 });
    }
    note(`Saved ${filename}.png`);
  } catch (err) {
    note(`PNG failed: ${err.message}`);
  }
});

const captionAnnotation = (y) => ({
  text: caption(),
  xref: "paper",
  yref: "paper",
  x: 0,
  y,
  xanchor: "left",
  yanchor: "top",
  align: "left",
  showarrow: false,
  font: { size: 10, color: "#374151" },
});
