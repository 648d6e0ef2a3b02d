// The results page's form: builds a /predict request from the inputs and shows the answer.
// Only textContent is written, so nothing the server echoes back is interpreted as HTML.
(function () {
  "use strict";
  const form = document.getElementById("predict-form");
  const out = document.getElementById("predict-result");
  if (!form || !out) return;
  const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);

  function body() {
    const f = form.elements;
    const req = { title: f.title.value.trim(), release_date: f.release_date.value };
    const genres = Array.from(f.genres.selectedOptions).map((o) => o.value);
    if (genres.length) req.genres = genres;
    if (f.runtime.value) req.runtime = Number(f.runtime.value);
    if (f.budget.value) req.budget = Number(f.budget.value);
    if (f.original_language.value.trim()) req.original_language = f.original_language.value.trim().toLowerCase();
    const countries = list(f.production_countries.value).map((c) => c.toUpperCase());
    if (countries.length) req.production_countries = countries;
    if (f.director.value.trim()) req.director = f.director.value.trim();
    const cast = list(f.cast.value);
    if (cast.length) req.cast = cast;
    const writers = list(f.writers.value);
    if (writers.length) req.writers = writers;
    const companies = list(f.production_companies.value);
    if (companies.length) req.production_companies = companies;
    if (f.certification.value.trim()) req.certification = f.certification.value.trim().toUpperCase();
    if (f.overview.value.trim()) req.overview = f.overview.value.trim();
    return req;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    out.className = "";
    out.textContent = "…";
    try {
      const response = await fetch("/predict", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body()),
      });
      const data = await response.json();
      if (!response.ok) {
        const detail = Array.isArray(data.detail)
          ? data.detail.map((d) => (d.loc || []).slice(1).join(".") + ": " + d.msg).join("; ")
          : String(data.detail);
        out.className = "error";
        out.textContent = "Error " + response.status + ": " + detail;
        return;
      }
      out.textContent = "Predicted rating: " + data.prediction.toFixed(2) +
        (data.clamped ? " (clamped)" : "") + " by model " + data.model_version +
        " (" + data.model_source + ")";
      out.dataset.prediction = String(data.prediction);
    } catch (err) {
      out.className = "error";
      out.textContent = "Request failed: " + err;
    }
  });
})();
