"""The peer side of `cargo bench --bench pipeline`: kokoro-onnx 0.6.1 on the same text, model and voice.

Run by the bench inside a pinned virtual environment (it makes the environment itself); prints one
JSON line. Two ways of calling the peer:

  default  `Kokoro(model, voices).create(text, voice, lang=...)`, as its README shows, with ONNX
           Runtime's default session (every core for one session).
  tuned    the layout that was fastest by hand: the text phonemized once and split into batches of at
           most 510 phonemes (the peer's own splitter), rendered by 2 processes of one 1-thread
           session each, batches handed out longest first.

Usage: peer.py MODE MODEL VOICES_NPZ VOICE LANG TEXT_FILE
"""

import json
import multiprocessing
import os
import resource
import sys
import time

SAMPLES_PER_FRAME = 600


def peak_rss_bytes():
    # VmHWM of this process, in bytes.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def count_computed_samples(kokoro):
    """Wraps the instance's model call so that every sample the model computes is counted."""
    counted = {"samples": 0}
    infer = kokoro._infer

    def counting(*args, **kwargs):
        audio, duration = infer(*args, **kwargs)
        counted["samples"] += len(audio)
        return audio, duration

    kokoro._infer = counting
    return counted


def default(model, voices, voice, lang, text):
    from kokoro_onnx import Kokoro

    started = time.perf_counter()
    kokoro = Kokoro(model, voices)
    counted = count_computed_samples(kokoro)
    audio, rate = kokoro.create(text, voice=voice, lang=lang)
    wall = time.perf_counter() - started
    return {
        "wall_s": wall,
        "audio_s": len(audio) / rate,
        "frames": counted["samples"] // SAMPLES_PER_FRAME,
        "peak_rss_bytes": peak_rss_bytes(),
        "processes": 1,
    }


_worker = {}


def _start_worker(model, voices):
    import onnxruntime as rt
    from kokoro_onnx import Kokoro

    options = rt.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = rt.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    kokoro = Kokoro.from_session(session, voices)
    _worker["kokoro"] = kokoro
    _worker["counted"] = count_computed_samples(kokoro)


def _render(job):
    phonemes, voice, pause = job
    kokoro = _worker["kokoro"]
    audio, _ = kokoro._create_batch(phonemes, kokoro.get_voice_style(voice), 1.0, True, pause)
    return len(audio), _worker["counted"]["samples"], peak_rss_bytes(), os.getpid()


def tuned(model, voices, voice, lang, text):
    from kokoro_onnx import Kokoro
    from kokoro_onnx.chunker import pause_after

    started = time.perf_counter()
    # The main process only phonemizes; sessions live in the two workers.
    planner = Kokoro.__new__(Kokoro)
    from kokoro_onnx.tokenizer import Tokenizer

    planner.tokenizer = Tokenizer()
    phonemes = " ".join(planner.tokenizer.phonemize(text, lang).split())
    batches = Kokoro._split_phonemes(planner, phonemes)
    jobs = [(b, voice, pause_after(b, 0.25, 0.1)) for b in batches[:-1]] + [(batches[-1], voice, 0.0)]
    jobs.sort(key=lambda job: -len(job[0]))
    context = multiprocessing.get_context("fork")
    with context.Pool(2, initializer=_start_worker, initargs=(model, voices)) as pool:
        results = pool.map(_render, jobs, chunksize=1)
    wall = time.perf_counter() - started
    audio_samples = sum(r[0] for r in results)
    # Each worker's running totals: keep its last (largest) figures.
    per_worker = {}
    for _, computed, rss, pid in results:
        last = per_worker.get(pid, (0, 0))
        per_worker[pid] = (max(last[0], computed), max(last[1], rss))
    computed = sum(c for c, _ in per_worker.values())
    rss = sum(r for _, r in per_worker.values()) + peak_rss_bytes()
    return {
        "wall_s": wall,
        "audio_s": audio_samples / 24000,
        "frames": computed // SAMPLES_PER_FRAME,
        "peak_rss_bytes": rss,
        "processes": 3,
        "batches": len(batches),
    }


def main():
    mode, model, voices, voice, lang, text_file = sys.argv[1:7]
    with open(text_file, encoding="utf-8") as f:
        text = f.read()
    run = {"default": default, "tuned": tuned}[mode]
    result = run(model, voices, voice, lang, text)
    result["mode"] = mode
    result["words"] = len(text.split())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
