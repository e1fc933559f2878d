// The painter's browser side (lesson 09); spade_lib/painter/widget.py is the kernel side.
//
// The browser keeps its own copy of the label map and paints into it at once: painting never waits for the
// kernel. When a stroke ends it sends it to the kernel, {type: "stroke", id, points: [[x, y], ...], class_id,
// radius, new_instance}, in label-map pixels. The kernel paints it with the same footprint, runs the model and
// answers with its label map (labels_bytes), the image (image_png) and the id it handled (applied_request). The
// browser then redraws from the kernel's map, with the edits the kernel has not answered yet painted on top.
// Element selectors for tests: the data-testid attributes below (painter, painter-canvas, painter-image, ...).

// ---- the brush: the same integer arithmetic as spade_lib/painter/canvas.py ------------------------------------

// Offsets [dx, dy] of the pixels whose centres lie within radius + 1/2 of the centre: dx² + dy² <= r² + r.
function discOffsets(radius) {
  const offsets = [];
  for (let dy = -radius; dy <= radius; dy++) {
    for (let dx = -radius; dx <= radius; dx++) {
      if (dx * dx + dy * dy <= radius * radius + radius) offsets.push([dx, dy]);
    }
  }
  return offsets;
}

// The points from start to end, one per step along the longer axis, rounded half up: floor((2 d i + n) / 2n).
function linePoints([x0, y0], [x1, y1]) {
  const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0));
  if (n === 0) return [[x0, y0]];
  const points = [];
  for (let i = 0; i <= n; i++) {
    points.push([x0 + Math.floor((2 * (x1 - x0) * i + n) / (2 * n)),
                 y0 + Math.floor((2 * (y1 - y0) * i + n) / (2 * n))]);
  }
  return points;
}

// Floor, then move into [-radius - 1, size + radius]: a disc there no longer touches the canvas.
function clampPoint([x, y], radius, height, width) {
  const clamp = (value, size) => Math.min(Math.max(Math.floor(value), -radius - 1), size + radius);
  return [clamp(x, width), clamp(y, height)];
}

// Stamp a disc on every point of every segment of the stroke; pixels off the canvas are skipped.
function paintStroke(map, edit) {
  const points = edit.points.map((p) => clampPoint(p, edit.radius, map.height, map.width));
  const centres = points.length === 1 ? points : points.slice(1).flatMap((p, i) => linePoints(points[i], p));
  const offsets = discOffsets(edit.radius);
  for (const [cx, cy] of centres) {
    for (const [dx, dy] of offsets) {
      const x = cx + dx, y = cy + dy;
      if (x >= 0 && x < map.width && y >= 0 && y < map.height) map.labels[y * map.width + x] = edit.class_id;
    }
  }
}

// Recolour the clicked pixel's 4-connected region of its class (the same region as painter.flood_region).
function paintFill(map, edit) {
  const [x, y] = edit.point.map(Math.floor);
  if (x < 0 || x >= map.width || y < 0 || y >= map.height) return;
  const start = y * map.width + x, target = map.labels[start];
  if (target === edit.class_id) return;
  map.labels[start] = edit.class_id;
  const stack = [start];
  while (stack.length > 0) {
    const i = stack.pop(), px = i % map.width;
    const neighbours = [px > 0 ? i - 1 : -1, px < map.width - 1 ? i + 1 : -1, i - map.width, i + map.width];
    for (const j of neighbours) {
      if (j >= 0 && j < map.labels.length && map.labels[j] === target) {
        map.labels[j] = edit.class_id;
        stack.push(j);
      }
    }
  }
}

function applyEdit(map, edit) {
  (edit.type === "fill" ? paintFill : paintStroke)(map, edit);
}

// ---- the palette's search ----------------------------------------------------------------------------------------

// The class ids whose names match what is typed, best first: names that start with it, then names with a word that
// starts with it ("tree" finds "palm tree" before "street"), then names that hold it anywhere; in id order within
// each group. Case is ignored; a number also finds the class with that id. Nothing typed: every class, in id order.
function matchClasses(names, query) {
  const typed = query.trim().toLowerCase();
  const ids = names.map((_, k) => k);
  if (!typed) return ids;
  const rank = (name, k) => {
    const lower = name.toLowerCase();
    if (String(k) === typed || lower.startsWith(typed)) return 0;
    if (lower.split(/[\s,\-/]+/).some((word) => word.startsWith(typed))) return 1;
    return lower.includes(typed) ? 2 : 3;
  };
  const ranks = names.map(rank);
  return ids.filter((k) => ranks[k] < 3).sort((a, b) => ranks[a] - ranks[b] || a - b);
}

// ---- small helpers ---------------------------------------------------------------------------------------------

// A bytes traitlet arrives as a DataView (ipywidgets 8) or another buffer type (7): always a Uint8Array here.
function asBytes(value) {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (value && ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(0);
}

function rgb(hex) {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

function h(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function download(names, buffers) {
  names.forEach((name, i) => {
    const url = URL.createObjectURL(new Blob([buffers[i]], { type: "image/png" }));
    const link = h("a", { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });
}

// ---- the widget ------------------------------------------------------------------------------------------------

function render({ model, el }) {
  const get = (name) => model.get(name);
  const set = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };
  const colours = () => get("palette").map(rgb);

  // the parts
  const canvas = h("canvas", { class: "spade-painter-canvas", "data-testid": "painter-canvas" });
  const image = h("img", { class: "spade-painter-image", "data-testid": "painter-image", alt: "generated image" });
  const status = h("div", { class: "spade-painter-status", "data-testid": "painter-status", role: "status" });
  const button = (testid, text, title, onclick) =>
    h("button", { type: "button", "data-testid": testid, title, onclick }, [text]);
  const toolButtons = {
    brush: button("painter-tool-brush", "brush", "paint strokes", () => set("tool", "brush")),
    fill: button("painter-tool-fill", "fill", "fill the clicked region", () => set("tool", "fill")),
  };
  const radius = h("input", { type: "range", min: 0, max: 12, "data-testid": "painter-radius",
                              oninput: () => set("brush_radius", Number(radius.value)) });
  const radiusText = h("span", { class: "spade-painter-value" });
  const newInstance = h("input", { type: "checkbox", "data-testid": "painter-new-instance",
                                   onchange: () => set("new_instance", newInstance.checked) });
  const undo = button("painter-undo", "↶ undo", "undo the last change", () => send({ type: "undo" }));
  const redo = button("painter-redo", "↷ redo", "redo what undo undid", () => send({ type: "redo" }));
  const clear = button("painter-clear", "clear", "paint everything in the selected class",
                       () => send({ type: "clear", class_id: get("brush_class") }));
  const layout = button("painter-random-layout", "random layout", "a layout from the Landscapes dataset",
                        () => send({ type: "random_layout" }));
  const palette = h("div", { class: "spade-painter-palette", "data-testid": "painter-palette",
                             onkeydown: (event) => moveFocus(event) });
  // long class lists (the official datasets): the current class, a search box and the classes used last
  const current = h("span", { class: "spade-painter-current", "data-testid": "painter-current",
                              "aria-live": "polite" });
  const search = h("input", { type: "search", class: "spade-painter-search", "data-testid": "painter-search",
                              "aria-label": "search the classes by name", autocomplete: "off",
                              oninput: () => showPalette(), onkeydown: (event) => searchKey(event) });
  const recent = h("span", { class: "spade-painter-recent", "data-testid": "painter-recent" });
  const finder = h("div", { class: "spade-painter-row spade-painter-finder" }, [
    h("span", { class: "spade-painter-value" }, ["brush: "]), current, search,
    h("span", { class: "spade-painter-value" }, ["recent: "]), recent,
  ]);

  const styleName = h("span", { class: "spade-painter-value", "data-testid": "painter-style-name" });
  const reroll = button("painter-reroll", "re-roll z", "a new random style code z",
                        () => send({ type: "reroll_style" }));
  const preset = h("select", { "data-testid": "painter-preset",
                               onchange: () => preset.value && send({ type: "style_preset", name: preset.value }) });
  const datasetIndex = h("input", { type: "number", min: 0, value: 0, "data-testid": "painter-dataset-index" });
  const datasetStyle = button("painter-dataset-style", "style of dataset image", "encode this Landscapes image",
                              () => send({ type: "style_dataset", index: Number(datasetIndex.value) }));
  const styleUpload = h("input", { type: "file", accept: "image/*", "data-testid": "painter-style-upload",
                                   onchange: () => sendFile(styleUpload, "style_image") });
  const labelUpload = h("input", { type: "file", accept: "image/png", "data-testid": "painter-load-labels",
                                   onchange: () => sendFile(labelUpload, "load_labels") });
  const save = button("painter-save", "save", "save label map and image (kernel folder + download)",
                      () => send({ type: "save" }));
  const folder = h("span", { class: "spade-painter-value" });
  const styleCaption = h("span", {}, [" · style: ", styleName]);
  const styleRow = h("div", { class: "spade-painter-row", "data-testid": "painter-style" }, [
    "style: ", reroll, preset, datasetIndex, datasetStyle, h("label", {}, ["image: ", styleUpload]),
  ]);
  const styleNote = h("div", { class: "spade-painter-value", "data-testid": "painter-style-note" });

  const root = h("div", { class: "spade-painter", "data-testid": "painter" }, [
    h("div", { class: "spade-painter-row" }, [
      toolButtons.brush, toolButtons.fill,
      h("label", {}, ["radius ", radius, radiusText]),
      h("label", { title: "each stroke or fill becomes an object of its own (instance edges)" },
        [newInstance, " new instance"]),
      undo, redo, clear, layout,
    ]),
    finder,
    palette,
    h("div", { class: "spade-painter-main" }, [
      h("figure", {}, [canvas, h("figcaption", {}, ["label map (you paint here)"])]),
      h("figure", {}, [image, h("figcaption", {}, ["generated image", styleCaption])]),
    ]),
    styleRow,
    styleNote,
    h("div", { class: "spade-painter-row" }, [
      h("label", {}, ["load label PNG: ", labelUpload]), save, folder,
    ]),
    status,
  ]);
  el.append(root);

  // the label map: the kernel's, with the edits it has not answered yet painted on top
  let map = null, pending = [], stroke = null, nextId = get("applied_request") + 1;
  const sentAt = new Map();

  function draw() {
    const pixels = new ImageData(map.width, map.height), palette = colours();
    map.labels.forEach((label, i) => {
      pixels.data.set(palette[label] || [0, 0, 0], 4 * i);
      pixels.data[4 * i + 3] = 255;
    });
    canvas.getContext("2d").putImageData(pixels, 0, 0);
  }

  function redraw() {
    const height = get("map_height"), width = get("map_width");
    map = { labels: asBytes(get("labels_bytes")).slice(), height, width };
    if (map.labels.length !== height * width) return;
    pending = pending.filter((edit) => edit.id > get("applied_request"));
    for (const edit of pending) applyEdit(map, edit);
    if (stroke) applyEdit(map, stroke);
    if (canvas.width !== width || canvas.height !== height) [canvas.width, canvas.height] = [width, height];
    const size = get("display_size");
    for (const node of [canvas, image]) {
      node.style.width = `${size}px`;
      node.style.height = `${(size * height) / width}px`;
    }
    draw();
  }

  function send(message, buffers) {
    message.id = nextId = Math.max(nextId, get("applied_request") + 1);
    nextId += 1;
    root.dataset.lastSent = message.id;
    sentAt.set(message.id, performance.now());
    model.send(message, undefined, buffers);
    return message;
  }

  async function sendFile(input, type) {
    const file = input.files[0];
    if (!file) return;
    send({ type, name: file.name }, [await file.arrayBuffer()]);
    input.value = "";
  }

  // painting
  function pixelOf(event) { // the label-map pixel under the pointer: the canvas's content box, border excluded
    const box = canvas.getBoundingClientRect();
    const x = event.clientX - box.left - canvas.clientLeft, y = event.clientY - box.top - canvas.clientTop;
    return [Math.floor((x / canvas.clientWidth) * map.width), Math.floor((y / canvas.clientHeight) * map.height)];
  }

  function onPointerDown(event) {
    if (event.button !== 0 || !map) return;
    event.preventDefault();
    const brush = { class_id: get("brush_class"), new_instance: get("new_instance") };
    if (get("tool") === "fill") {
      const edit = { type: "fill", point: pixelOf(event), ...brush };
      applyEdit(map, edit);
      draw();
      pending.push(send(edit));
      return;
    }
    canvas.setPointerCapture(event.pointerId);
    stroke = { type: "stroke", points: [pixelOf(event)], radius: get("brush_radius"), ...brush };
    applyEdit(map, stroke);
    draw();
  }

  function onPointerMove(event) {
    if (!stroke) return;
    const events = (event.getCoalescedEvents && event.getCoalescedEvents()) || [];
    for (const each of events.length ? events : [event]) {
      const point = pixelOf(each), last = stroke.points[stroke.points.length - 1];
      if (point[0] === last[0] && point[1] === last[1]) continue;
      stroke.points.push(point);
      paintStroke(map, { ...stroke, points: [last, point] });
    }
    draw();
  }

  function onPointerUp() {
    if (!stroke) return;
    pending.push(send(stroke));
    stroke = null;
  }

  canvas.addEventListener("pointerdown", onPointerDown);
  canvas.addEventListener("pointermove", onPointerMove);
  canvas.addEventListener("pointerup", onPointerUp);
  canvas.addEventListener("pointercancel", onPointerUp);

  // the image, with the time from the edit's message to the image on screen
  let urls = [];
  function showImage() {
    const request = get("applied_request"), serial = get("image_serial");
    const mark = () => requestAnimationFrame(() => {
      image.dataset.request = request;
      image.dataset.serial = serial;
      if (sentAt.has(request)) {
        root.dataset.roundtripMs = (performance.now() - sentAt.get(request)).toFixed(1);
        sentAt.delete(request);
      }
    });
    const png = asBytes(get("image_png"));
    if (png.length === 0) {
      image.removeAttribute("src");
      mark();
      return;
    }
    const url = URL.createObjectURL(new Blob([png], { type: "image/png" }));
    urls.push(url);
    image.onload = () => {
      urls.filter((old) => old !== url).forEach((old) => URL.revokeObjectURL(old));
      urls = [url];
      mark();
    };
    image.src = url;
  }

  // the controls follow the model
  function showControls() {
    for (const [name, node] of Object.entries(toolButtons)) node.classList.toggle("selected", get("tool") === name);
    radius.value = get("brush_radius");
    radiusText.textContent = ` ${get("brush_radius")}`;
    newInstance.checked = get("new_instance");
    undo.disabled = !get("can_undo");
    redo.disabled = !get("can_redo");
    const presets = get("style_presets");
    reroll.disabled = !get("uses_z");
    layout.disabled = !get("landscapes");
    for (const node of [preset, datasetIndex, datasetStyle]) node.disabled = presets.length === 0;
    styleUpload.disabled = !get("has_encoder");
    if (preset.options.length !== presets.length + 1) {
      preset.replaceChildren(h("option", { value: "" }, ["preset…"]),
                             ...presets.map((name) => h("option", { value: name }, [name])));
    }
    if (!get("style_name").startsWith("preset ")) preset.value = ""; // another style replaced the preset
    styleName.textContent = get("style_name") || "(none)";
    styleNote.textContent = get("style_note");
    styleRow.hidden = styleCaption.hidden = Boolean(get("style_note"));
    styleNote.hidden = !get("style_note");
    folder.textContent = `saves to: ${get("save_folder") || "the notebook's folder"}`;
    status.textContent = get("status");
    status.dataset.level = get("status_level");
    root.dataset.kernelMs = get("last_latency_ms").toFixed(1);
  }

  const swatch = (k) => h("span", { class: "spade-painter-swatch", style: `background:${get("palette")[k]}` });
  const classButton = (k, testid) => h("button", {
    type: "button", class: "spade-painter-class", "data-testid": testid, "data-class-id": k,
    title: `${get("class_names")[k]} (id ${k})`, onclick: () => set("brush_class", k),
  }, [swatch(k), get("class_names")[k]]);

  // every class, or those that match the search box, best first
  function showPalette() {
    const names = get("class_names"), searching = get("searchable");
    finder.hidden = !searching;
    search.placeholder = `search ${names.length} classes…`;
    const ids = searching ? matchClasses(names, search.value) : names.map((_, k) => k);
    palette.replaceChildren(...ids.map((k) => classButton(k, "painter-class")));
    const none = h("span", { class: "spade-painter-value" }, [`no class named “${search.value}”`]);
    if (ids.length === 0) palette.append(none);
    showSelectedClass();
  }

  function showSelectedClass() {
    const chosen = get("brush_class");
    for (const node of root.querySelectorAll(".spade-painter-class")) {
      node.classList.toggle("selected", Number(node.dataset.classId) === chosen);
      node.setAttribute("aria-pressed", Number(node.dataset.classId) === chosen);
    }
    current.replaceChildren(swatch(chosen), `${get("class_names")[chosen]} (${chosen})`);
  }

  function showRecent() {
    recent.replaceChildren(...get("recent_classes").map((k) => classButton(k, "painter-recent-class")));
    showSelectedClass();
  }

  // the keyboard: Enter takes the best match, arrow down goes to the buttons, Escape empties the box
  function searchKey(event) {
    const first = palette.querySelector("button");
    if (event.key === "Enter" && first) {
      set("brush_class", Number(first.dataset.classId));
      search.select();
    } else if (event.key === "ArrowDown" && first) {
      first.focus();
    } else if (event.key === "Escape") {
      search.value = "";
      showPalette();
    } else {
      return;
    }
    event.preventDefault();
  }

  // arrow keys move between the palette's buttons (Tab and Enter or Space work as everywhere)
  function moveFocus(event) {
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    const buttons = [...palette.querySelectorAll("button")], at = buttons.indexOf(document.activeElement);
    if (!step || at < 0) return;
    event.preventDefault();
    if (at + step < 0 && get("searchable")) search.focus();
    else buttons[Math.min(Math.max(at + step, 0), buttons.length - 1)].focus();
  }

  const handlers = {
    "change:labels_bytes": redraw,
    "change:applied_request": redraw,
    "change:image_serial": showImage,
    "change:palette": () => { showPalette(); redraw(); },
    "change:class_names": showPalette,
    "change:searchable": showPalette,
    "change:brush_class": showSelectedClass,
    "change:recent_classes": showRecent,
    "change": showControls,
    "msg:custom": (message, buffers) => message.type === "download" && download(message.names, buffers),
  };
  for (const [event, handler] of Object.entries(handlers)) model.on(event, handler);
  showPalette();
  showRecent();
  showControls();
  redraw();
  showImage();
  return () => {
    for (const [event, handler] of Object.entries(handlers)) model.off(event, handler);
    urls.forEach((url) => URL.revokeObjectURL(url));
  };
}

export default { render };

// the brush, for tests/test_painter.py, which checks it pixel for pixel against spade_lib/painter/canvas.py, and
// the palette's search, which tests/test_painter_palettes.py runs on the official class lists
export { applyEdit, clampPoint, discOffsets, linePoints, matchClasses };
