// Widgets of ticket forms (tickets/widgets/*.html): the attachment uploader and the table
// editor. Loaded by each form that has such a field (again after htmx swaps), so it sets
// itself up once.
(function () {
  if (window.fdFields) return;
  window.fdFields = true;

  // --- attachments: each chosen file is uploaded at once; its chip carries the id -----------

  function csrfToken(element) {
    var input = element.form && element.form.querySelector("[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // Tell the form (and htmx's condition re-render) that the field's value changed.
  function changed(box) {
    box.dispatchEvent(new Event("change", { bubbles: true }));
  }

  async function upload(box, input, file) {
    var body = new FormData();
    body.append("file", file);
    body.append("field", box.dataset.name);
    var response = await fetch(box.dataset.url, {
      method: "POST",
      body: body,
      headers: { "X-CSRFToken": csrfToken(input) },
      credentials: "same-origin",
    });
    var text = await response.text();
    if (!response.ok) throw new Error(file.name + ": " + text);
    box.querySelector("[data-fd-chips]").insertAdjacentHTML("beforeend", text);
  }

  async function uploadAll(input) {
    var box = input.closest("[data-fd-attachments]");
    var error = box.querySelector("[data-fd-upload-error]");
    var busy = box.querySelector("[data-fd-uploading]");
    var files = Array.from(input.files);
    error.textContent = "";
    busy.classList.remove("d-none");
    for (var i = 0; i < files.length; i++) {
      try {
        await upload(box, input, files[i]);
      } catch (failure) {
        error.textContent = failure.message;
      }
    }
    busy.classList.add("d-none");
    input.value = "";
    changed(box);
  }

  // Capture: the file input's own change must not reach htmx's condition re-render, which
  // would replace the widget while the upload runs.
  document.addEventListener(
    "change",
    function (event) {
      if (event.target.matches("input[data-fd-upload]")) {
        event.stopPropagation();
        uploadAll(event.target);
      } else if (event.target.matches("[data-fd-cell]")) {
        event.stopPropagation(); // a table cell: the whole table is one value
      }
    },
    true
  );

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-fd-remove]");
    if (!button) return;
    var box = button.closest("[data-fd-attachments]");
    button.closest("[data-fd-chip]").remove();
    changed(box);
  });

  // --- tables: Alpine component; the hidden input holds the rows as the engine reads them ---

  function pad(number) {
    return String(number).padStart(2, "0");
  }

  // Stored UTC "2026-11-28T02:00:00Z" → the local "2026-11-28T10:00" of a datetime-local input.
  function localInput(value) {
    var moment = new Date(value);
    if (isNaN(moment)) return String(value);
    return (
      moment.getFullYear() + "-" + pad(moment.getMonth() + 1) + "-" + pad(moment.getDate()) +
      "T" + pad(moment.getHours()) + ":" + pad(moment.getMinutes())
    );
  }

  function toCell(column, value) {
    if (value === null || value === undefined) return column.type === "multiselect" ? [] : "";
    if (column.type === "multiselect") return Array.isArray(value) ? value.map(String) : [];
    if (column.type === "members" && Array.isArray(value)) return value.join(", ");
    if (column.type === "datetime") return localInput(value);
    return String(value);
  }

  function toValue(column, cell) {
    if (Array.isArray(cell)) return cell.length ? cell : null;
    if (cell === undefined || String(cell).trim() === "") return null;
    if (column.type === "members") {
      return cell.split(",").map(function (name) { return name.trim(); }).filter(Boolean);
    }
    if (column.type === "datetime") {
      var moment = new Date(cell);
      return isNaN(moment) ? cell : moment.toISOString().replace(/\.\d{3}Z$/, "Z");
    }
    return cell;
  }

  window.fdTable = function (configId) {
    var config = JSON.parse(document.getElementById(configId).textContent);
    var next = 0;
    function row(values) {
      var cells = {};
      config.columns.forEach(function (column) {
        cells[column.key] = toCell(column, values ? values[column.key] : null);
      });
      return { id: next++, cells: cells };
    }
    return {
      columns: config.columns,
      errorRow: config.errorRow,
      rows: config.rows.map(function (values) {
        return row(values && typeof values === "object" ? values : {});
      }),
      add: function () {
        this.rows.push(row(null));
        this.errorRow = null;
        this.$nextTick(function () { changed(this.$root); }.bind(this));
      },
      remove: function (index) {
        this.rows.splice(index, 1);
        this.errorRow = null;
        this.$nextTick(function () { changed(this.$root); }.bind(this));
      },
      get serialised() {
        if (!this.rows.length) return "";
        var columns = this.columns;
        return JSON.stringify(
          this.rows.map(function (line) {
            var out = {};
            columns.forEach(function (column) {
              out[column.key] = toValue(column, line.cells[column.key]);
            });
            return out;
          })
        );
      },
    };
  };
})();
