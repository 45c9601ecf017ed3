"""Console rendering of the commands' results (tables); the commands stay thin."""

from __future__ import annotations


def render_convert(res, opts) -> None:
    from .. import ui

    m = res.manifest

    def io_rows(kind: str) -> list:
        ts = m["io"][kind + "s"]
        return [[kind if len(ts) == 1 else f"{kind} {k}" + (f" ({t['name'].split(':')[0].removeprefix('serving_default_')})"
                                                            if kind == "input" else ""),
                 f"{t['dtype']} {tuple(t['shape'])} scale {ui.num(t['scale'])} zp {t['zero_point']}"]
                for k, t in enumerate(ts)]

    rows = [["output", str(res.out_path)], ["size", f"{m['tflite']['bytes']:,} B"],
            ["calibration", f"{res.calib_samples} samples of {m['calibration']['source']}"],
            ["granularity / precision", f"{opts.granularity} / {opts.precision}"],
            ["activation ranges", opts.method + (f" ({opts.percentile})" if opts.method == "percentile" else "")],
            *io_rows("input"), *io_rows("output"),
            ["tensors", f"{m['tensors']['quantized']} quantized, {m['tensors']['per_channel']} per-channel"]]
    mix = m.get("mixed_precision")
    if mix is not None:
        rows.append(["int16 layers", ", ".join(mix["int16_layers"]) or "none needed"])
        rows.append(["int16 activations", f"{len(mix['int16_tensors'])} tensors, {mix['requantize_ops']} "
                                          "requantize ops at the int8/int16 edges"])
        a = mix.get("auto")
        if a:
            rows.append(["accuracy float / int8 / mixed", f"{ui.pct(a['float_accuracy'])} / "
                         f"{ui.pct(a['all_int8_accuracy'])} / {ui.pct(a['accuracy'])}  (drop {a['drop_pp']:.2f} pp, "
                         f"target {a['max_drop_pp']} pp)"])
    w = m.get("weights")
    if w and w["default"] != "int8" or w and (w["formats"]["int4"] or w["formats"]["cluster16"]):
        counts = ", ".join(f"{n} {f}" for f, n in w["formats"].items() if n)
        rows.append(["weights", f"{counts}: {w['bytes']:,} of {w['int8_bytes']:,} B as int8 ({w['ratio']:.2f}x)"])
    wa = (w or {}).get("auto")
    if wa:
        rows.append(["int4 layers (--auto)", f"{', '.join(wa['int4_layers']) or 'none needed'}: accuracy "
                     f"{ui.pct(wa['accuracy'])} (drop {wa['drop_pp']:.2f} pp)"])
    rows.append(["manifest", str(res.manifest_path)])
    ui.out.print(ui.table("edgeq convert", ["", ""], rows, justify_right_from=2))


def render_evaluation(ev) -> None:
    from .. import ui

    if len(ev.outputs) > 1:
        return _render_evaluation_outputs(ev)
    m = ev.metrics
    rows = []
    if ev.task in ("classification", "binary"):
        rows += [["top-1 accuracy", ui.pct(m["float_accuracy"]), ui.pct(m["int8_accuracy"])],
                 ["drop", "", f"{ev.drop_pp:.2f} pp"],
                 [f"float↔{ev.precision} agreement", "", ui.pct(m["agreement"])]]
    else:
        rows += [["MSE", ui.num(m["float_mse"]), ui.num(m["int8_mse"])],
                 ["MAE", ui.num(m["float_mae"]), ui.num(m["int8_mae"])]]
    rows += [["output RMSE vs float", "", ui.num(m["output_rmse"])],
             ["output max |error|", "", ui.num(m["output_max_abs_error"])],
             ["output SQNR", "", "∞" if m["output_sqnr_db"] is None else f"{m['output_sqnr_db']:.1f} dB"]]
    q = ev.precision
    ui.out.print(ui.table(f"edgeq evaluate — {ev.task}, {ev.samples} samples", ["metric", "float", q], rows))
    if ev.per_class:
        pc = [[c["class"], c["count"], ui.pct(c["float_accuracy"]), ui.pct(c["int8_accuracy"])] for c in ev.per_class]
        ui.out.print(ui.table("per class", ["class", "n", "float", q], pc))
    if ev.reference != "TFLM":
        ui.out.print(f"{q} model run by the {ev.reference} interpreter (an op has no TFLM kernel)")


def _render_evaluation_outputs(ev) -> None:
    """A model with several outputs: one row per output (its main metric float → quantized), then
    the float↔quantized error of each, then per-class accuracy of each classifier output."""
    from .. import ui

    q = ev.precision
    rows = []
    for o in ev.outputs:
        m, label = o["metrics"], f"{o['index']} {o['name']}"
        sq = "∞" if m["output_sqnr_db"] is None else f"{m['output_sqnr_db']:.1f} dB"
        if o["task"] in ("classification", "binary"):
            rows.append([label, "accuracy", ui.pct(m["float_accuracy"]), ui.pct(m["int8_accuracy"]),
                         f"{-o['drop_pp']:+.2f} pp", sq])
        elif o["task"] == "regression":
            rows.append([label, "MSE", ui.num(m["float_mse"]), ui.num(m["int8_mse"]),
                         f"{m['int8_mse'] - m['float_mse']:+.3g}", sq])
            rows.append(["", "MAE", ui.num(m["float_mae"]), ui.num(m["int8_mae"]),
                         f"{m['int8_mae'] - m['float_mae']:+.3g}", ""])
        else:
            rows.append([label + " (no labels)", "MSE vs float", "", ui.num(m["output_mse"]), "", sq])
    ui.out.print(ui.table(f"edgeq evaluate — {len(ev.outputs)} outputs, {ev.samples} samples",
                          ["output", "metric", "float", q, "change", "SQNR"], rows))
    err = [[f"{o['index']} {o['name']}", ui.num(o["metrics"]["output_rmse"]), ui.num(o["metrics"]["output_max_abs_error"])]
           for o in ev.outputs]
    ui.out.print(ui.table(f"{q} vs float, per output", ["output", "RMSE", "max |error|"], err))
    for o in ev.outputs:
        if o["per_class"]:
            pc = [[c["class"], c["count"], ui.pct(c["float_accuracy"]), ui.pct(c["int8_accuracy"])]
                  for c in o["per_class"]]
            ui.out.print(ui.table(f"per class — output {o['index']} {o['name']}", ["class", "n", "float", q], pc))
    if ev.reference != "TFLM":
        ui.out.print(f"{q} model run by the {ev.reference} interpreter (an op has no TFLM kernel)")


def _flash_test_outputs_table(outputs: list[dict]):
    """One row per output of a model with several: bit-exact rate, then its accuracy (classifier
    outputs with labels) or its MSE against the labels, on the device, the host reference and the
    float model, and the device's SQNR against float (regression outputs)."""
    from .. import ui

    rows = []
    for o in outputs:
        row = [f"{o['index']} {o['name']}", ui.pct(o["bit_exact_rate"])]
        if "device_accuracy" in o:
            row += ["accuracy", ui.pct(o["device_accuracy"]), ui.pct(o["host_accuracy"]),
                    ui.pct(o["float_accuracy"]) if "float_accuracy" in o else "-"]
        elif "device_mse" in o:
            row += ["MSE", ui.num(o["device_mse"]), ui.num(o["host_mse"]),
                    ui.num(o["float_mse"]) if "float_mse" in o else "-"]
        elif "top1_agreement" in o:
            row += ["top-1 = host", ui.pct(o["top1_agreement"]), "", ""]
        else:
            row += ["", "", "", ""]
        sq = o.get("device_vs_float_sqnr_db")
        row.append("-" if sq is None else f"{sq:.1f} dB")
        rows.append(row)
    return ui.table("per output", ["output", "bit-exact", "metric", "device", "host", "float", "SQNR vs float"],
                    rows, justify_right_from=3)


def render_flash_test(rep: dict) -> None:
    from .. import ui

    rows = [["samples", f"{rep['samples']}  (inputs "
             + ("over the UART" if rep.get("upload", "serial") == "serial" else "from a host file, semihosting") + ")"],
            [f"bit-exact vs host {rep.get('reference', 'TFLM').split(' ')[0]}",
             ui.pct(rep["bit_exact_rate"]) + f" ({rep['mismatch_count']} mismatches)"]]
    if "top1_agreement" in rep:
        rows.append(["top-1 agreement vs host", ui.pct(rep["top1_agreement"])])
    if "device_accuracy" in rep:
        rows.append(["device accuracy", ui.pct(rep["device_accuracy"])])
    if "float_accuracy" in rep:
        rows.append(["float accuracy", ui.pct(rep["float_accuracy"]) + f"  (drop {rep['float_vs_device_drop_pp']:.2f} pp)"])
    lat = rep["latency"]
    unit = "instructions" if rep["emulated"] else "cycles"
    if lat.get(unit):
        s = lat[unit]
        rows.append([f"{unit} / inference", f"min {s['min']:,}  median {s['median']:,.0f}  p99 {s['p99']:,.0f}"])
        ms = lat["ms_at_clock"]
        rows.append([f"ms at {rep['clock_hz'] / 1e6:g} MHz", f"median {ms['median']:.3f}"
                     + ("  (1 instruction/cycle)" if rep["emulated"] else "")])
    m = rep["memory"]
    rows += [["flash (ELF)", f"{m['flash_bytes']:,} / {m['flash_capacity']:,} B"],
             ["RAM (ELF + stack)", f"{m['ram_bytes'] + m['stack_bytes']:,} / {m['ram_capacity']:,} B"],
             ["arena", f"{m['arena_bytes']:,} B"], ["results", rep["results_file"]]]
    ui.out.print(ui.table(f"edgeq flash-and-test — {rep['board']} ({rep['core']})", ["", ""], rows,
                          justify_right_from=2))
    if len(rep.get("outputs") or []) > 1:
        ui.out.print(_flash_test_outputs_table(rep["outputs"]))
    if rep.get("profile"):
        from ..profile import render_profile

        render_profile(rep["profile"], ui.out)
    if rep.get("telemetry"):
        from ..telemetry import render_telemetry

        render_telemetry(rep["telemetry"], ui.out)
        for k in rep["telemetry"]["drift_layers"]:
            ui.err.print(f"[yellow]drift: layer {k} clips more often on this data than on the calibration data[/]")
    if rep.get("reference", "TFLM") != "TFLM":
        ui.out.print(f"host reference: {rep['reference']} (the model has an op TFLM has no kernel for)")
    link = rep.get("link") or {}
    if link.get("retransmits") or link.get("resets"):
        ui.err.print(f"link: {link['retransmits']} retransmits ({link['naks']} NAKs, {link['timeouts']} timeouts, "
                     f"{link['resets']} device resets) — all recovered")
    shown = 10
    for mm in rep["mismatches"][:shown]:
        ui.err.print(f"mismatch: sample {mm.get('data_index', mm['index'])} (max |diff| {mm['max_abs_diff']})")
    if len(rep["mismatches"]) > shown:
        ui.err.print(f"mismatch: … and {len(rep['mismatches']) - shown} more (all in report.json)")
