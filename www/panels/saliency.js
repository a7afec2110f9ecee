// The heat map viewer (Grad-CAM, made in Rust): the image as the model sees it, with the heat of
// one label drawn over it, a toggle and an opacity slider. Used for the predicted image (4.
// Predict) and for a dataset image (its detail in 3. Model).
import { Request } from "../protocol.js";
import { drawPixels, el, showError } from "../ui.js";

/** @typedef {import("../protocol.js").Saliency} Saliency */

/**
 * Builds a viewer inside `container` (emptied). Its `data-state` (loading, done, failed),
 * `data-label` and `data-probability` are read by the browser tests.
 * @param {HTMLElement} container
 * @param {import("../client.js").WorkerClient} client
 */
export function createHeatViewer(container, client) {
  const labelSelect = el("select", { class: "heat-label", "aria-label": "Label of the heat map" });
  const toggle = el("input", { type: "checkbox", class: "heat-toggle" });
  toggle.checked = true;
  const opacity = el("input", { type: "range", class: "heat-opacity", min: "0", max: "1", step: "0.05",
    "aria-label": "Opacity of the heat map" });
  opacity.value = "0.6";
  const image = el("canvas", { class: "heat-image", "aria-label": "The image as the model sees it" });
  const heat = el("canvas", { class: "heat-overlay", "aria-label": "Heat map" });
  const caption = el("p", { class: "heat-caption muted" });
  container.replaceChildren(
    el("div", { class: "controls" },
      el("label", {}, "Heat map of", labelSelect),
      el("label", { class: "check" }, toggle, " Show heat map"),
      el("label", {}, "Opacity", opacity)),
    el("div", { class: "heat-stack" }, image, heat),
    caption);

  // The overlay's look is CSS: shown or not, and how opaque.
  const showOverlay = () => {
    heat.hidden = !toggle.checked;
    heat.style.opacity = opacity.value;
    container.dataset.shown = String(toggle.checked);
  };
  toggle.addEventListener("change", showOverlay);
  opacity.addEventListener("input", showOverlay);
  showOverlay();

  /** @type {{ index: number } | { file: File } | null} */
  let source = null;
  let asked = 0;

  async function load() {
    if (!source || !labelSelect.value) return;
    const mine = ++asked;
    container.dataset.state = "loading";
    caption.textContent = "Computing the heat map…";
    try {
      /** @type {Saliency} */
      const reply = await client.request(Request.SALIENCY, { ...source, label: labelSelect.value });
      if (mine !== asked) return;
      drawPixels(image, reply.image);
      drawPixels(heat, reply.heat);
      caption.textContent = `Where the model looked for ${reply.label} (probability ` +
        `${(100 * reply.probability).toFixed(1)}%): warm areas raised that label's score most.`;
      Object.assign(container.dataset, { state: "done", label: reply.label, probability: String(reply.probability) });
    } catch (e) {
      if (mine !== asked) return;
      container.dataset.state = "failed";
      caption.textContent = "";
      showError("Cannot compute the heat map", e);
    }
  }
  /** A label the person picked stays picked for the next images (while the model has it). */
  let picked = null;
  labelSelect.addEventListener("change", () => {
    picked = labelSelect.value;
    load();
  });

  return {
    /**
     * Shows the heat map of `label` (one of `labels`; the one the person picked, if any) on an image of the dataset (`{ index }`)
     * or a file (`{ file }`).
     */
    show(/** @type {{ index: number } | { file: File }} */ of, /** @type {string[]} */ labels, label) {
      source = of;
      labelSelect.replaceChildren(...labels.map((name) => el("option", { value: name }, name)));
      labelSelect.value = labels.includes(picked) ? picked : labels.includes(label) ? label : labels[0];
      container.hidden = false;
      return load();
    },
  };
}
