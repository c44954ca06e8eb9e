/* The static renderer of softmax_pkg.viz: draws an interactive figure of the Softmax Book as
 * SVG from data precomputed in Python, and redraws it when a slider moves. No kernel, no
 * network, no library. Each figure's HTML snippet carries this file; the first copy on a page
 * defines window.softmaxViz and the others reuse it.
 *
 * The data (JSON, see InteractiveFigure.static_payload in _figure.py):
 *   controls: [{name, label, values, text, index}]  one slider each, in order;
 *   arrays:   name -> {shape, scale, data} (integers / scale) or {shape, runs} (run lengths),
 *             whose leading axes follow the controls, so the figure at slider positions
 *             (i, j, ...) is the sub-array at those leading indices;
 *   meta:     titles, ticks, colours; size: [width, height] in pixels.
 */
(function () {
  "use strict";
  if (window.softmaxViz) return;
  const NS = "http://www.w3.org/2000/svg";

  function svg(parent, name, attrs, text) {
    const node = document.createElementNS(NS, name);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    parent.appendChild(node);
    return node;
  }

  function decode(entry) {
    const total = entry.shape.reduce((a, b) => a * b, 1);
    let values;
    if (entry.runs) {
      values = new Int16Array(total);
      let at = 0;
      for (let r = 0; r < entry.runs.length; r += 2) {
        values.fill(entry.runs[r], at, at + entry.runs[r + 1]);
        at += entry.runs[r + 1];
      }
    } else {
      values = Float64Array.from(entry.data, (v) => v / entry.scale);
    }
    return { shape: entry.shape, values: values };
  }

  // The sub-array at leading indices `index` (C order), as a view.
  function slice(array, index) {
    let offset = 0;
    let size = array.values.length;
    index.forEach((i, axis) => {
      size /= array.shape[axis];
      offset += i * size;
    });
    return array.values.subarray(offset, offset + size);
  }

  function fixed(value, digits) {
    return value.toFixed(digits);
  }

  // "{name}" -> the text of that control at its current position (as _figure.fill does).
  function fill(template, controls, index) {
    return template.replace(/\{(\w+)\}/g, (whole, name) => {
      const k = controls.findIndex((c) => c.name === name);
      return k < 0 ? whole : controls[k].text[index[k]];
    });
  }

  // "{key}" -> values[key], as Python's str.format fills the texts that come from Python (in the
  // edition's language) with numbers computed here.
  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
  }

  // The width of a text in "ch": a Chinese character takes two (as _figure.text_width).
  function textWidth(text) {
    return text.replace(/[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/g, "  ").length;
  }

  function path(xs, ys, X, Y, count) {
    let d = "";
    for (let i = 0; i < count; i++) d += (i ? "L" : "M") + X(xs[i]).toFixed(1) + "," + Y(ys[i]).toFixed(1);
    return d;
  }

  // One set of axes: frame, ticks, tick labels, axis labels, a title; X and Y map data to pixels.
  function axes(parent, box, o) {
    const fx = o.xlog ? Math.log10 : (v) => v;
    const x0 = fx(o.xlim[0]);
    const x1 = fx(o.xlim[1]);
    const X = (v) => box.x + ((fx(v) - x0) / (x1 - x0)) * box.w;
    const Y = (v) => box.y + box.h - ((v - o.ylim[0]) / (o.ylim[1] - o.ylim[0])) * box.h;
    const g = svg(parent, "g");
    const plot = svg(g, "g");
    svg(g, "rect", { x: box.x, y: box.y, width: box.w, height: box.h, class: "smx-frame" });
    for (const [value, text] of o.xticks || []) {
      const x = X(value);
      svg(g, "line", { x1: x, x2: x, y1: box.y + box.h, y2: box.y + box.h + 4, class: "smx-tick" });
      svg(g, "text", { x: x, y: box.y + box.h + 16, "text-anchor": "middle" }, text);
    }
    for (const [value, text] of o.yticks || []) {
      const y = Y(value);
      svg(g, "line", { x1: box.x - 4, x2: box.x, y1: y, y2: y, class: "smx-tick" });
      svg(g, "text", { x: box.x - 7, y: y + 4, "text-anchor": "end" }, text);
    }
    const xlabel = svg(g, "text", { x: box.x + box.w / 2, y: box.y + box.h + 33, "text-anchor": "middle" }, o.xlabel || "");
    if (o.ylabel) {
      const x = box.x - (o.ylabelGap || 42);
      const y = box.y + box.h / 2;
      svg(g, "text", { x: x, y: y, "text-anchor": "middle", transform: `rotate(-90 ${x} ${y})` }, o.ylabel);
    }
    const title = svg(g, "text", { x: box.x + box.w / 2, y: box.y - 8, "text-anchor": "middle", class: "smx-title" }, o.title || "");
    return { X: X, Y: Y, plot: plot, title: title, xlabel: xlabel, box: box };
  }

  function ticks(values, digits) {
    return values.map((v) => [v, fixed(v, digits)]);
  }

  function digitsOf(values) {
    return Math.max(0, ...values.map((v) => (String(v).split(".")[1] || "").length));
  }

  function bar(parent, ax, x, width, value, color) {
    const rect = svg(parent, "rect", { x: ax.X(x - width / 2), width: ax.X(x + width / 2) - ax.X(x - width / 2), fill: color });
    const label = svg(parent, "text", { x: ax.X(x), "text-anchor": "middle" });
    return { rect: rect, label: label, set: (v) => {
      const top = Math.min(ax.Y(v), ax.Y(0));
      rect.setAttribute("y", top);
      rect.setAttribute("height", Math.abs(ax.Y(0) - ax.Y(v)));
      label.setAttribute("y", v >= 0 ? ax.Y(v) - 5 : ax.Y(v) + 15);
      label.textContent = fixed(v, 3);
    } };
  }

  // A square heat map of n x n cells, each a rect and a text, with a colour bar to its right
  // (JacobianFigure, AttentionFigure). ticks: the values marked on the bar; place(bar, v): the
  // height in pixels of value v on the bar; gap: from the bar to its rotated label.
  function heatmapWithBar(root, m, side, ticks, place, gap) {
    const n = m.xticks.length;
    const ax = axes(root, { x: 75, y: 30, w: side, h: side }, {
      xlim: [-0.5, n - 0.5], ylim: [n - 0.5, -0.5], xlabel: m.xlabel, ylabel: m.ylabel, ylabelGap: 48,
      xticks: m.xticks.map((t, j) => [j, t]), yticks: m.yticks.map((t, i) => [i, t]),
    });
    const cells = [];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const rect = svg(ax.plot, "rect", { x: ax.X(j - 0.5), y: ax.Y(i - 0.5), width: ax.X(j + 0.5) - ax.X(j - 0.5), height: ax.Y(i + 0.5) - ax.Y(i - 0.5) });
        const text = svg(ax.plot, "text", { x: ax.X(j), y: ax.Y(i) + 4, "text-anchor": "middle" });
        cells.push({ rect: rect, text: text });
      }
    }
    // The colour bar: the colours of the map from the bottom of the scale to its top.
    const bar = { x: 75 + side + 25, y: 30, w: 16, h: side };
    const count = m.cmap.length;
    m.cmap.forEach((color, k) => {
      svg(root, "rect", { x: bar.x, y: bar.y + bar.h - ((k + 1) / count) * bar.h, width: bar.w, height: bar.h / count + 0.5, fill: color });
    });
    svg(root, "rect", { x: bar.x, y: bar.y, width: bar.w, height: bar.h, class: "smx-frame" });
    for (const v of ticks) {
      const y = place(bar, v);
      svg(root, "line", { x1: bar.x + bar.w, x2: bar.x + bar.w + 4, y1: y, y2: y, class: "smx-tick" });
      svg(root, "text", { x: bar.x + bar.w + 7, y: y + 4 }, fixed(v, 1));
    }
    const x = bar.x + bar.w + gap;
    const y = bar.y + bar.h / 2;
    svg(root, "text", { x: x, y: y, "text-anchor": "middle", transform: `rotate(90 ${x} ${y})` }, m.cbar_label);
    return { ax: ax, cells: cells };
  }

  const renderers = {
    // logits + temperature -> probabilities (TemperatureFigure)
    bars: {
      setup(root, data) {
        const m = data.meta;
        const [W, H] = data.size;
        const n = m.xticks.length;
        const ax = axes(root, { x: 62, y: 30, w: W - 72, h: H - 62 }, {
          xlim: [0.4, n + 0.6], ylim: m.ylim, ylabel: m.ylabel,
          xticks: m.xticks.map((t, i) => [i + 1, t]), yticks: ticks(m.yticks, 2),
        });
        svg(ax.plot, "line", { x1: ax.box.x, x2: ax.box.x + ax.box.w, y1: ax.Y(m.uniform), y2: ax.Y(m.uniform), class: "smx-dotted" });
        svg(ax.plot, "text", { x: ax.box.x + 8, y: ax.Y(m.uniform) - 5, class: "smx-note" }, "1/N");
        const bars = m.xticks.map((t, i) => bar(ax.plot, ax, i + 1, 0.6, 0, m.color));
        return { ax: ax, bars: bars, p: decode(data.arrays.p) };
      },
      draw(s, index, data) {
        const p = slice(s.p, index);
        s.bars.forEach((b, i) => b.set(p[i]));
        s.ax.title.textContent = fill(data.meta.title, data.controls, index);
      },
    },

    // logits -> Jacobian heat map (JacobianFigure)
    heatmap: {
      setup(root, data) {
        const m = data.meta;
        const [W, H] = data.size;
        const side = Math.min(W - 190, H - 80);
        // The bar runs from -limit (bottom) to +limit (top).
        const place = (bar, v) => bar.y + bar.h / 2 - (v / m.limit) * (bar.h / 2);
        const { ax, cells } = heatmapWithBar(root, m, side, [-0.2, -0.1, 0, 0.1, 0.2], place, 52);
        return { ax: ax, cells: cells, J: decode(data.arrays.J) };
      },
      draw(s, index, data) {
        const m = data.meta;
        const J = slice(s.J, index);
        const last = m.cmap.length - 1;
        s.cells.forEach((cell, k) => {
          const v = J[k];
          const c = Math.max(0, Math.min(last, Math.round(((v + m.limit) / (2 * m.limit)) * last)));
          cell.rect.setAttribute("fill", m.cmap[c]);
          cell.text.textContent = fixed(v, 3);
          cell.text.style.fill = Math.abs(v) > m.dark ? "white" : "black"; // as in the PNG
        });
        s.ax.title.textContent = fill(m.title, data.controls, index);
      },
    },

    // one logit -> loss and gradient (LossGradientFigure)
    lossgrad: {
      setup(root, data) {
        const m = data.meta;
        const [W, H] = data.size;
        const n = m.names.length;
        const xs = data.controls[1].values;
        const xlim = [xs[0] - 0.05 * (xs[xs.length - 1] - xs[0]), xs[xs.length - 1] + 0.05 * (xs[xs.length - 1] - xs[0])];
        const w = (W - 3 * 62 - 10) / 3;
        const box = (k) => ({ x: 62 + k * (w + 62), y: 30, w: w, h: H - 78 });
        const xticks = ticks(m.xticks, 0);
        const left = axes(root, box(0), { xlim: xlim, ylim: m.loss_ylim, xticks: xticks, yticks: ticks(m.loss_yticks, digitsOf(m.loss_yticks)), ylabel: m.ylabel });
        const middle = axes(root, box(1), { xlim: xlim, ylim: [-1.05, 1.05], xticks: xticks, yticks: ticks([-1, -0.5, 0, 0.5, 1], 1), ylabel: "∂L/∂aⱼ", title: m.middle_title });
        const right = axes(root, box(2), { xlim: [0.4, n + 0.6], ylim: [-1.2, 1.2], yticks: ticks([-1, -0.5, 0, 0.5, 1], 1), xticks: m.names.map((name, j) => [j + 1, "∂L/∂" + name]) });
        for (const ax of [middle, right]) svg(ax.plot, "line", { x1: ax.box.x, x2: ax.box.x + ax.box.w, y1: ax.Y(0), y2: ax.Y(0), class: "smx-zero" });
        const lossLine = svg(left.plot, "path", { class: "smx-line smx-ink" });
        const lossDot = svg(left.plot, "circle", { r: 4.5, class: "smx-ink" });
        const gradLines = m.colors.map((color) => svg(middle.plot, "path", { class: "smx-line", stroke: color }));
        const gradDots = m.colors.map((color) => svg(middle.plot, "circle", { r: 4.5, fill: color }));
        const bars = m.colors.map((color, j) => bar(right.plot, right, j + 1, 0.6, 0, color));
        return { axes: [left, middle, right], xs: xs, n: n, lossLine: lossLine, lossDot: lossDot, gradLines: gradLines, gradDots: gradDots, bars: bars,
                 loss: decode(data.arrays.loss), grad: decode(data.arrays.grad) };
      },
      draw(s, index, data) {
        const m = data.meta;
        const [k, i] = index;
        const [left, middle, right] = s.axes;
        const L = slice(s.loss, [k]);
        const G = slice(s.grad, [k]);
        const M = s.xs.length;
        s.lossLine.setAttribute("d", path(s.xs, L, left.X, left.Y, M));
        s.lossDot.setAttribute("cx", left.X(s.xs[i]));
        s.lossDot.setAttribute("cy", left.Y(L[i]));
        for (let j = 0; j < s.n; j++) {
          const column = Array.from({ length: M }, (_, r) => G[r * s.n + j]);
          s.gradLines[j].setAttribute("d", path(s.xs, column, middle.X, middle.Y, M));
          s.gradDots[j].setAttribute("cx", middle.X(s.xs[i]));
          s.gradDots[j].setAttribute("cy", middle.Y(column[i]));
          s.bars[j].set(G[i * s.n + j]);
        }
        const at = m.names[k] + " = " + data.controls[1].text[i];
        left.title.textContent = format(m.loss_title, { loss: fixed(L[i], 3), at: at });
        right.title.textContent = format(m.grad_title, { at: at });
        left.xlabel.textContent = middle.xlabel.textContent = format(m.xlabel, { name: m.names[k] });
      },
    },

    // hyper-parameters -> decision regions and loss curve (ClassifierFigure)
    classifier: {
      setup(root, data) {
        const m = data.meta;
        const [W, H] = data.size;
        const w = (W - 2 * 68 - 12) / 2.15;
        const left = axes(root, { x: 62, y: 30, w: w, h: H - 78 }, {
          xlim: [m.extent[0], m.extent[1]], ylim: [m.extent[2], m.extent[3]],
          xticks: ticks(m.xticks, 0), yticks: ticks(m.yticks, 0), xlabel: m.xlabel, ylabel: m.ylabel, ylabelGap: 34,
        });
        const right = axes(root, { x: 62 + w + 80, y: 30, w: W - w - 62 - 80 - 12, h: H - 78 }, {
          xlim: m.loss_xlim, ylim: m.loss_ylim, xlog: true, xticks: m.epoch_ticks.map((v) => [v, String(v)]),
          yticks: ticks(m.loss_yticks, 1), xlabel: m.loss_xlabel, ylabel: m.loss_ylabel,
        });
        const map = decode(data.arrays.map);
        const [rows, cols] = map.shape.slice(-2);
        const canvas = document.createElement("canvas");
        canvas.width = cols;
        canvas.height = rows;
        const image = svg(left.plot, "image", { x: left.box.x, y: left.box.y, width: left.box.w, height: left.box.h, preserveAspectRatio: "none", class: "smx-pixels" });
        const X = decode(m.X).values;
        m.y.forEach((c, p) => svg(left.plot, "circle", { cx: left.X(X[2 * p]), cy: left.Y(X[2 * p + 1]), r: 3.2, fill: m.colors[c], class: "smx-point" }));
        const rgb = m.palette.map((hex) => [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16)));
        return { axes: [left, right], canvas: canvas, image: image, rgb: rgb, map: map, rows: rows, cols: cols,
                 future: svg(right.plot, "path", { class: "smx-line smx-future" }),
                 curve: svg(right.plot, "path", { class: "smx-line smx-ink" }),
                 dot: svg(right.plot, "circle", { r: 4.5, class: "smx-ink" }),
                 loss: decode(data.arrays.loss), accuracy: decode(data.arrays.accuracy) };
      },
      draw(s, index, data) {
        const [a, b, e] = index;
        const [left, right] = s.axes;
        const codes = slice(s.map, index);
        const context = s.canvas.getContext("2d");
        const pixels = context.createImageData(s.cols, s.rows);
        for (let r = 0; r < s.rows; r++) {
          for (let c = 0; c < s.cols; c++) {
            const color = s.rgb[codes[r * s.cols + c]];
            const at = 4 * ((s.rows - 1 - r) * s.cols + c); // row 0 is the bottom of the plot
            pixels.data[at] = color[0];
            pixels.data[at + 1] = color[1];
            pixels.data[at + 2] = color[2];
            pixels.data[at + 3] = 255;
          }
        }
        context.putImageData(pixels, 0, 0);
        s.image.setAttribute("href", s.canvas.toDataURL());
        const loss = slice(s.loss, [a, b]);
        const epochs = data.controls[2].values[e];
        const counts = Array.from({ length: loss.length }, (_, t) => t + 1);
        s.future.setAttribute("d", path(counts, loss, right.X, right.Y, loss.length));
        s.curve.setAttribute("d", path(counts, loss, right.X, right.Y, epochs));
        s.dot.setAttribute("cx", right.X(epochs));
        s.dot.setAttribute("cy", right.Y(loss[epochs - 1]));
        left.title.textContent = format(data.meta.map_title[epochs === 1 ? 0 : 1], { epochs: epochs });
        right.title.textContent = format(data.meta.loss_title, { objective: fixed(loss[epochs - 1], 3), accuracy: fixed(slice(s.accuracy, [a, b])[e], 3) });
      },
    },

    // key dimension, scale, mask -> attention weights (AttentionFigure); controls: d, scaled, mask
    attention: {
      setup(root, data) {
        const m = data.meta;
        const [W, H] = data.size;
        const side = Math.min(W - 190, H - 110);
        // The bar runs from weight 0 (bottom) to 1 (top); masked cells are grey, off the scale.
        const place = (bar, v) => bar.y + bar.h - v * bar.h;
        const { ax, cells } = heatmapWithBar(root, m, side, [0, 0.2, 0.4, 0.6, 0.8, 1], place, 45);
        const stats = svg(root, "text", { x: 75 + side / 2, y: 30 + side + 62, "text-anchor": "middle", class: "smx-stats" });
        return { ax: ax, cells: cells, stats: stats, A: decode(data.arrays.A), S: decode(data.arrays.stats), mask: decode(data.arrays.mask) };
      },
      draw(s, index, data) {
        const m = data.meta;
        const A = slice(s.A, index);
        const mask = slice(s.mask, [index[2]]);
        const last = m.cmap.length - 1;
        s.cells.forEach((cell, k) => {
          const v = A[k];
          if (mask[k]) {
            cell.rect.setAttribute("fill", m.cmap[Math.max(0, Math.min(last, Math.round(v * last)))]);
            cell.text.textContent = fixed(v, 2);
            cell.text.style.fill = v > m.dark ? "white" : "black"; // as in the PNG
          } else {
            cell.rect.setAttribute("fill", m.masked);
            cell.text.textContent = "";
          }
        });
        const [largest, norm] = slice(s.S, index);
        s.stats.textContent = format(m.stats, { largest: fixed(largest, 3), norm: fixed(norm, 3) });
        s.ax.title.textContent = fill(m.title, data.controls, index);
      },
    },
  };

  // The page's own "Launch on Binder" button (sphinx-book-theme), if there is one. The words of
  // the note are the banner's data attributes, in the edition's language.
  function linkBinder(banner) {
    const launch = document.querySelector('.dropdown-launch-buttons a[href*="urlpath="], a[href^="https://mybinder.org/v2/"]');
    const note = document.createElement("span");
    if (launch) {
      note.append(banner.dataset.before);
      const a = document.createElement("a");
      a.href = launch.href;
      a.textContent = banner.dataset.link;
      a.className = "smx-viz-binder";
      note.append(a, banner.dataset.after);
    } else {
      note.append(banner.dataset.jupyter);
    }
    banner.append(note);
  }

  function mount(root) {
    if (!root || root.dataset.mounted) return;
    root.dataset.mounted = "yes";
    const data = JSON.parse(root.querySelector(".smx-viz-data").textContent);
    const renderer = renderers[data.kind];
    root.querySelector(".smx-viz-nojs").remove();
    const banner = root.querySelector(".smx-viz-banner");
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", () => linkBinder(banner));
    } else {
      linkBinder(banner);
    }
    const index = data.controls.map((c) => c.index);
    const panel = document.createElement("div");
    panel.className = "smx-viz-controls";
    // One column width for the labels of this figure, so the sliders line up.
    panel.style.setProperty("--smx-label", Math.max(...data.controls.map((c) => textWidth(c.label))) + 1 + "ch");
    const outputs = data.controls.map((control, k) => {
      const label = document.createElement("label");
      label.className = "smx-viz-control";
      const name = document.createElement("span");
      name.textContent = control.label;
      const input = document.createElement("input");
      Object.assign(input, { type: "range", min: 0, max: control.values.length - 1, step: 1, value: control.index });
      input.dataset.name = control.name;
      input.setAttribute("aria-label", control.label);
      const output = document.createElement("output");
      input.addEventListener("input", () => {
        index[k] = Number(input.value);
        redraw();
      });
      label.append(name, input, output);
      panel.append(label);
      return output;
    });
    const [W, H] = data.size;
    const figure = svg(root, "svg", { viewBox: `0 0 ${W} ${H}`, width: W, class: "smx-viz-figure", role: "img" });
    root.insertBefore(panel, figure);
    const state = renderer.setup(figure, data);
    function redraw() {
      data.controls.forEach((control, k) => (outputs[k].textContent = control.text[index[k]]));
      renderer.draw(state, index, data);
      // What the figure shows (its alt text, from Python), then where the sliders stand.
      figure.setAttribute("aria-label", format(data.shown_at, { alt: data.alt, settings: data.controls.map((c, k) => c.label + " = " + c.text[index[k]]).join(data.separator) }));
    }
    redraw();
  }

  window.softmaxViz = { mount: mount, renderers: renderers };
})();
