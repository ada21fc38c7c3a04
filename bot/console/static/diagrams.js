// Draw every <pre class="mermaid"> on the page with the vendored Mermaid. "strict": labels are
// text only (no HTML, no clicks), so a label in a flow file can never run script here.
// Drawn at its own size (useMaxWidth false): a big flow shrunk to a phone's width had labels
// 2 px tall; its box scrolls instead (console.css, .diagram), opened where the flow starts.
mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral",
  flowchart: { htmlLabels: false, useMaxWidth: false } });
mermaid.run({ querySelector: "pre.mermaid" }).then(() => {
  for (const box of document.querySelectorAll(".diagram")) {
    const start = box.querySelector("svg g.node");
    if (!start) continue;
    const shown = box.getBoundingClientRect(), node = start.getBoundingClientRect();
    box.scrollLeft += node.left + node.width / 2 - (shown.left + shown.width / 2);
  }
});
