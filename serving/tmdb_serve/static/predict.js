// The results page's form: builds a /predict request from the inputs and shows the answer.
// Only textContent is written, so nothing the server echoes back is interpreted as HTML.
(function () {
  "use strict";
  const form = document.getElementById("predict-form");
  const out = document.getElementById("predict-result");
  const why = document.getElementById("predict-explanation");
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

  // The contributions as signed bars in a table (largest push first), built with DOM calls.
  function showExplanation(explanation) {
    if (!why || !explanation) return;
    const body = why.querySelector("tbody");
    body.replaceChildren();
    const entries = Object.entries(explanation.contributions)
      .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
    const top = Math.max(...entries.map((e) => Math.abs(e[1])), 1e-9);
    const row = (label, value, bar) => {
      const tr = document.createElement("tr");
      const name = document.createElement("td");
      name.textContent = label;
      const number = document.createElement("td");
      number.textContent = value;
      const cell = document.createElement("td");
      if (bar !== null) {
        const span = document.createElement("span");
        span.className = bar >= 0 ? "bar-pos" : "bar-neg";
        span.style.width = Math.round(120 * Math.abs(bar) / top) + "px";
        cell.appendChild(span);
        tr.dataset.input = label;
        tr.className = "contribution-row";
      }
      tr.append(name, number, cell);
      body.appendChild(tr);
    };
    row("base value", explanation.base_value.toFixed(3), null);
    for (const [name, value] of entries) row(name, (value >= 0 ? "+" : "") + value.toFixed(3), value);
    row("= raw prediction", explanation.raw_prediction.toFixed(3), null);
    why.hidden = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    out.className = "";
    out.textContent = "…";
    try {
      if (why) why.hidden = true;
      const response = await fetch("/predict?explain=true", {
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
      const range = data.interval
        ? ", " + Math.round(data.interval.coverage * 100) + "% interval " +
          data.interval.low.toFixed(2) + "–" + data.interval.high.toFixed(2)
        : ", no interval";
      out.textContent = "Predicted rating: " + data.prediction.toFixed(2) +
        (data.clamped ? " (clamped)" : "") + range + " by model " + data.model_version +
        " (" + data.model_source + ")";
      out.dataset.prediction = String(data.prediction);
      showExplanation(data.explanation);
    } catch (err) {
      out.className = "error";
      out.textContent = "Request failed: " + err;
    }
  });
})();
