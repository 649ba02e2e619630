// Sorts every <table class="sortable"> by the column whose header is clicked (again: reverse).
// A cell sorts by its data-sort number when it has one ("NaN": missing, always last), else by
// its text. No library: the leaderboard pages are generated HTML tables.
(function () {
  function key(row, column) {
    var cell = row.cells[column];
    var value = cell.getAttribute("data-sort");
    return value === null ? cell.textContent.trim() : Number(value);
  }
  function compare(x, y) {
    var xMissing = typeof x === "number" && isNaN(x);
    var yMissing = typeof y === "number" && isNaN(y);
    if (xMissing || yMissing) return { missing: xMissing - yMissing };
    if (typeof x === "number" && typeof y === "number") return { order: x - y };
    return { order: String(x).localeCompare(String(y)) };
  }
  function sortBy(table, th, column) {
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var headers = table.tHead.rows[0].cells;
    for (var i = 0; i < headers.length; i++) headers[i].removeAttribute("aria-sort");
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var c = compare(key(a, column), key(b, column));
      if (c.missing !== undefined) return c.missing;
      return ascending ? c.order : -c.order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  function init() {
    var tables = document.querySelectorAll("table.sortable");
    Array.prototype.forEach.call(tables, function (table) {
      var headers = table.tHead.rows[0].cells;
      Array.prototype.forEach.call(headers, function (th, column) {
        th.title = "sort by this column";
        th.addEventListener("click", function () { sortBy(table, th, column); });
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
