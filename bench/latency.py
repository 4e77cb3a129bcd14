"""The latency the surgeon feels: EMG to loudspeaker, and a new A-train to the alarm banner.

(a) **EMG → speaker.** A paced source (the monotonic clock is the amplifier's clock) emits
blocks of quiet EMG with a 250 µV click on channel 1 every 0.3 s; the session filters them
and hands them to :class:`monitor.emgaudio.EmgAudio` (as ``ui/app.py`` wires it), which
:class:`drivers.soundcard.AudioOutput` plays. Each click's latency is the time from the
click's sample entering the source (the instant the amplifier sampled it) to the same
sample leaving the audio callback (the callback's slot for it: its deadline plus its
position in the buffer / the output rate). The sound card's own hardware latency (from the
callback to the DAC) is excluded and reported apart, as the audio API states it.
With a sound device the real PortAudio stream calls the callback. **Without one** a
simulated device clock calls the same callback, every ``frames / rate_out`` seconds of a
device clock that runs ``--drift-ppm`` fast, on absolute deadlines as a sound card's period
interrupts would; a callback that runs more than one period late counts as a device
underflow. Underruns: ``AudioOutput.underruns`` (EMG FIFO ran dry + device underflows).

(b) **New A-train → alarm banner painted.** The live window (offscreen Qt, its own frame
timer, the full monitoring pipeline) on a paced quiet simulated patient that gets a
120-Hz A-train every 8 s; latency from the train's onset (the wall-clock time at which its
first sample entered the source) to the first paint event of the banner showing it.

Goals: (a) ≤ 30 ms at 10 and 20 kHz with no underruns; (b) ≤ 250 ms. Prints its figures,
then one JSON line.

    .venv/bin/python bench/latency.py [--seconds 20] [--trains 8] [--only audio|banner]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from types import SimpleNamespace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

from monitor.block import Block
from monitor.source import EndOfStream, Source, SourceInfo

CLICK_UV = 250.0
CLICK_EVERY_S = 0.3
SIM_FRAMES = 256  # frames per callback of the simulated device when AudioOutput picks none


class PacedSource(Source):
    """Blocks paced by the monotonic clock, as a device delivers them: a block is handed
    over once its last sample has been sampled. Sample ``i`` enters at ``t0 + (i+1)/rate``."""

    def __init__(
        self, rate: float, labels: tuple[str, ...], render, block_s: float, seconds: float
    ):
        self._info = SourceInfo(name="Paced bench source", rate=rate, labels=labels, kind="bench")
        self.render = render  # (start, n) -> float32 [n, ch]
        self.block_n = max(1, round(block_s * rate))
        self.end = round(seconds * rate)
        self.next = 0
        self.t0: float | None = None
        self.late: list[float] = []  # block handed over after its last sample was due (s)
        self._stop = threading.Event()

    @property
    def info(self) -> SourceInfo:
        return self._info

    def open(self) -> None:
        pass

    def entered_at(self, index: int) -> float:
        assert self.t0 is not None
        return self.t0 + (index + 1) / self._info.rate

    def read(self) -> Block | None:
        if self.next >= self.end:
            raise EndOfStream
        if self.t0 is None:
            self.t0 = time.monotonic()
        n = self.block_n
        due = self.entered_at(self.next + n - 1)
        wait = due - time.monotonic()
        if wait > 0 and self._stop.wait(wait):
            return None
        self.late.append(time.monotonic() - due)
        block = Block(self.next, self.render(self.next, n), self._info.rate, self._info.labels)
        self.next += n
        return block

    def request_stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        pass


class SimulatedDevice:
    """Calls ``callback(outdata, frames, time_info, status)`` on a device clock's periods.

    The device holds ``periods`` periods (its own latency, ``periods * frames / rate``): a
    callback later than ``periods - 1`` periods past its deadline lets it run dry, and the
    device restarts its clock from then."""

    def __init__(self, callback, frames: int, rate: float, drift_ppm: float, periods: int) -> None:
        self.callback, self.frames = callback, frames
        self.period = frames / (rate * (1 + drift_ppm * 1e-6))
        self.buffer_s = periods * self.period
        self.slack = (periods - 1) * self.period
        self.chunks: list[tuple[float, np.ndarray]] = []  # (deadline, samples)
        self.late: list[float] = []
        self.underflows = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="simulated sound card", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        out = np.zeros((self.frames, 2), np.float32)
        deadline = time.monotonic() + self.period
        late = False
        while not self._stop.is_set():
            wait = deadline - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            now = time.monotonic()
            self.late.append(now - deadline)
            late = now - deadline > self.slack
            if late:  # it ran dry: like ALSA's recovery, restart the clock from now
                self.underflows += 1
                deadline = now
            self.callback(out, self.frames, None, SimpleNamespace(output_underflow=late))
            self.chunks.append((deadline, out[:, 0].copy()))
            deadline += self.period


class RealDevice:
    """Records what the real stream's callback writes, stamped on the monotonic clock."""

    def __init__(self, audio) -> None:
        self.audio, self.chunks, self.hw_latency = audio, [], []
        self._inner = audio._callback
        audio._callback = self._callback  # before start(): the stream takes this one

    def detach(self) -> None:
        del self.audio._callback

    def _callback(self, outdata, frames, time_info, status) -> None:
        now = time.monotonic()
        self._inner(outdata, frames, time_info, status)
        self.chunks.append((now, np.array(outdata[:, 0] if outdata.ndim > 1 else outdata)))
        self.hw_latency.append(time_info.outputBufferDacTime - time_info.currentTime)


def ms_pct(values: list[float], q: float) -> float | None:
    return round(1000 * float(np.percentile(values, q)), 1) if len(values) else None


def click_render(rate: float, n_ch: int):
    every = round(CLICK_EVERY_S * rate)
    rng = np.random.default_rng(1)

    def render(start: int, n: int) -> np.ndarray:
        x = rng.normal(0.0, 1.0, (n, n_ch)).astype(np.float32)  # 1 µV RMS: a quiet muscle
        first = -(-max(start, every) // every) * every
        for i in range(first, start + n, every):
            x[i - start, 0] += CLICK_UV
        return x

    return render, every


def emg_to_speaker(
    rate: float, seconds: float, block_s: float, drift_ppm: float, n_ch: int, periods: int
) -> dict:
    from drivers.soundcard import AudioOutput
    from monitor.emgaudio import EmgAudio
    from monitor.monitoring import FreeRunMonitoring
    from monitor.montage import default_labels
    from monitor.session import Session

    render, every = click_render(rate, n_ch)
    source = PacedSource(rate, default_labels(n_ch), render, block_s, seconds)
    session = Session(source)
    session.open()
    FreeRunMonitoring(session)  # the detectors load the acquisition thread as live
    emg = EmgAudio(rate, n_ch, channels=[0])
    session.subscribe("EMG audio", emg)
    audio = AudioOutput(emg)
    device: RealDevice | SimulatedDevice = RealDevice(audio)
    real = audio.start()
    if real:
        stated = audio._stream.latency
    else:
        device.detach()
        frames = audio.blocksize or SIM_FRAMES
        device = SimulatedDevice(audio._callback, frames, audio.rate, drift_ppm, periods)
        stated = device.buffer_s
        device.start()
    session.start()
    session.join(seconds + 30)
    # Counted while the stream ran: after its end the FIFO runs dry, as it should.
    underruns, fifo_underruns = audio.underruns, emg.underruns
    target_end = emg.target_s
    sim_underflows = 0 if real else device.underflows
    time.sleep(0.3)  # let the last click play
    if isinstance(device, RealDevice):
        audio.stop()
        hw = statistics.median(device.hw_latency) if device.hw_latency else None
        cb_late = []
    else:
        device.stop()
        hw, cb_late = None, device.late
    session.stop()
    # Every output sample's leave time; clicks are the local maxima above half a click.
    ro = audio.rate if real else audio.rate * (1 + drift_ppm * 1e-6)
    y = np.concatenate([c for _, c in device.chunks])
    t = np.concatenate([d + np.arange(len(c)) / ro for d, c in device.chunks])
    thr = 0.5 * CLICK_UV / emg.full_scale_uv * 0.5
    above = np.flatnonzero(np.abs(y) > thr)
    lat: list[float] = []
    steady: list[float] = []
    if len(above):
        runs = np.split(above, np.flatnonzero(np.diff(above) > round(0.005 * ro)) + 1)
        for run in runs:
            j = run[np.argmax(np.abs(y[run]))]
            k = int((t[j] - source.t0) * rate) // every * every  # the latest click entered
            while k > 0 and source.entered_at(k) > t[j]:
                k -= every
            if k >= every:
                lat.append(1000 * (t[j] - source.entered_at(k)))
                if t[j] - source.t0 > 2.0:  # past the start's settling
                    steady.append(lat[-1])
    clicks = (source.end - 1) // every
    return {
        "rate_hz": rate,
        "device": "real" if real else "simulated",
        "callback_frames": None if real else device.frames,
        "clicks": clicks,
        "heard": len(lat),
        "ms_median": round(statistics.median(lat), 1) if lat else None,
        "ms_p99": round(float(np.percentile(lat, 99)), 1) if lat else None,
        "ms_max": round(max(lat), 1) if lat else None,
        "ms_min": round(min(lat), 1) if lat else None,
        "underruns": underruns + sim_underflows,
        "fifo_underruns": fifo_underruns,
        "device_underflows": underruns - fifo_underruns + sim_underflows,
        "dropped_samples": emg.dropped_samples,
        "target_ms_end": round(1000 * target_end, 1),
        "ms_max_after_2s": round(max(steady), 1) if steady else None,
        "resyncs": emg.resyncs,
        "block_late_ms_p99": ms_pct(source.late, 99),
        "block_late_ms_max": ms_pct(source.late, 100),
        "callback_late_ms_p99": ms_pct(cb_late, 99),
        "callback_late_ms_max": ms_pct(cb_late, 100),
        "hw_latency_ms_stated": None if stated is None else round(1000 * stated, 1),
        "hw_latency_ms_callbacks": None if hw is None else round(1000 * hw, 1),
        "notice": audio.notice,
    }


def atrain_to_banner(trains: int, rate: float, n_ch: int) -> dict:
    import pyqtgraph as pg
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from monitor.casemodel import CaseModel
    from monitor.monitoring import FreeRunMonitoring
    from monitor.montage import default_labels
    from monitor.session import Session
    from simulation.emgsynth import QUIET, EmgSynth, SimConfig
    from ui.gcpolicy import GuiThreadGarbageCollector
    from ui.mainwindow import MainWindow

    pg.setConfigOptions(antialias=False)
    app = QApplication.instance() or QApplication([])
    period_s, first_s = 8.0, 3.0
    labels = default_labels(n_ch)
    synth = EmgSynth(SimConfig(rate=rate, labels=labels, seed=5, **QUIET))
    onsets = []
    for k in range(trains):
        ev = synth.add_event(
            "a_train", first_s + k * period_s, channel=1, duration_s=1.0, freq_hz=120
        )
        onsets.append(ev.onset)
    seconds = first_s + trains * period_s
    source = PacedSource(rate, labels, lambda s, n: synth.render(s, n)[0], 0.01, seconds)
    session = Session(source)
    session.open()
    monitoring = FreeRunMonitoring(session)
    window = MainWindow(CaseModel.on_session(session, monitoring=monitoring), window_s=10.0)
    gc_policy = GuiThreadGarbageCollector(window)
    window.resize(1600, 900)
    window.show()
    banner = window.alarm_banner
    painted: list[float] = []
    detected: list[float] = []
    shown = {"a_train": False}

    class PaintWatch(QObject):
        def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
            if event.type() == QEvent.Type.Paint:
                now = time.monotonic()
                is_train = banner.top is not None and banner.top.key.startswith("a_train")
                if is_train and not shown["a_train"]:
                    painted.append(now)
                shown["a_train"] = is_train
            return False

    watch = PaintWatch()
    banner.installEventFilter(watch)

    def on_event(ev) -> None:
        if ev.kind.name == "A_TRAIN" and not ev.final:
            detected.append(time.monotonic())

    monitoring.add_listener(on_event)
    session.start()
    done = QTimer()
    done.timeout.connect(lambda: app.quit() if not session.running else None)
    done.start(200)
    app.exec()
    session.stop()
    gc_policy.stop()
    window.close()
    lat = []
    det = []
    for onset in onsets:
        t_on = source.entered_at(onset)
        later = [p for p in painted if p >= t_on]
        if later and later[0] - t_on < period_s / 2:
            lat.append(1000 * (later[0] - t_on))
        later = [d for d in detected if d >= t_on]
        if later and later[0] - t_on < period_s / 2:
            det.append(1000 * (later[0] - t_on))
    return {
        "trains": trains,
        "shown": len(lat),
        "ms_median": round(statistics.median(lat), 1) if lat else None,
        "ms_max": round(max(lat), 1) if lat else None,
        "detected_ms_median": round(statistics.median(det), 1) if det else None,
        "detected_ms_max": round(max(det), 1) if det else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="signal per rate, part (a)")
    ap.add_argument("--block-ms", type=float, default=10.0, help="acquisition block (a)")
    ap.add_argument("--drift-ppm", type=float, default=100.0, help="simulated device clock")
    ap.add_argument(
        "--periods", type=int, default=3, help="simulated device's buffer, in callback periods"
    )
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--trains", type=int, default=8, help="A-trains, part (b)")
    ap.add_argument("--only", choices=("audio", "banner"))
    args = ap.parse_args()
    result: dict = {"bench": "latency"}
    if args.only != "banner":
        audio = []
        for rate in (10_000.0, 20_000.0):
            r = emg_to_speaker(
                rate,
                args.seconds,
                args.block_ms / 1000,
                args.drift_ppm,
                args.channels,
                args.periods,
            )
            audio.append(r)
            how = (
                "real sound device"
                if r["device"] == "real"
                else f"NO sound device: simulated device clock, {r['callback_frames']} frames "
                f"per callback, {args.periods} periods buffered, {args.drift_ppm:+g} ppm"
            )
            print(
                f"EMG → speaker at {rate / 1000:g} kHz ({how}): {r['heard']}/{r['clicks']} "
                f"clicks heard, median {r['ms_median']} ms, p99 {r['ms_p99']} ms, "
                f"max {r['ms_max']} ms (after the first 2 s: {r['ms_max_after_2s']} ms); "
                f"underruns {r['underruns']} (FIFO {r['fifo_underruns']}, "
                f"device {r['device_underflows']}), dropped {r['dropped_samples']} samples; "
                f"sound card's own latency: stated {r['hw_latency_ms_stated']} ms, per callback "
                f"{r['hw_latency_ms_callbacks']} ms (not included); FIFO target at the end "
                f"{r['target_ms_end']} ms, {r['resyncs']} resyncs; blocks late p99/max "
                f"{r['block_late_ms_p99']}/{r['block_late_ms_max']} ms, callbacks late p99/max "
                f"{r['callback_late_ms_p99']}/{r['callback_late_ms_max']} ms"
            )
        result["emg_to_speaker"] = audio
        result["acquisition_block_ms"] = args.block_ms
        result["goal_ms"] = 30
    if args.only != "audio":
        b = atrain_to_banner(args.trains, 10_000.0, args.channels)
        print(
            f"new A-train → alarm banner painted (10 kHz, offscreen): {b['shown']}/{b['trains']} "
            f"shown, median {b['ms_median']} ms, max {b['ms_max']} ms (detected: median "
            f"{b['detected_ms_median']} ms, max {b['detected_ms_max']} ms after onset)"
        )
        result["atrain_to_banner"] = b
        result["banner_goal_ms"] = 250
    print(json.dumps(result))


if __name__ == "__main__":
    main()
