"""Damaged and hostile input files, each made here from a small committed
fixture, run through the program a user runs (tests/cli/hostile_inputs.cmake):
every one must end with exit status 1 and one line on stderr that names the
file, or (the report's charts) finish quickly with a page. Found by mutating
valid files (truncations, bit flips, header fields set to extremes); each
case is the smallest input that showed its fault.

    hostile_inputs.py BIN_DIR SOURCE_DIR CASE

Standard library only.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import bin_file  # tests/cli, beside this script

BIN, SOURCE, CASE = sys.argv[1], sys.argv[2], sys.argv[3]
ENV = dict(os.environ, OMP_NUM_THREADS="1")


def run(args, timeout=120):
    return subprocess.run([os.path.join(BIN, args[0])] + args[1:], capture_output=True, text=True,
                          errors="replace", env=ENV, timeout=timeout)


def expect_error(args, path, *needles):
    """Exit status 1, one line on stderr "<program>: error: ..." naming path and each needle."""
    r = run(args)
    lines = r.stderr.splitlines()
    program = " ".join(args[:2]) if args[0] == "psp" else args[0]  # "psp encode: error: ..."
    ok = (r.returncode == 1 and len(lines) == 1 and lines[0].startswith(program + ": error: ")
          and path in lines[0] and all(n in lines[0] for n in needles))
    print(f"exit status {r.returncode}, {len(lines)} lines on stderr:\n{r.stderr[-3000:]}")
    if not ok:
        sys.exit(f"FAIL: expected exit status 1 and one line naming {path} and {needles}")


read_bin, write_bin = bin_file.read, bin_file.write  # the CRC recomputed, so each case meets its own check


def png(width, height, grey, channels=1):
    """An 8-bit grey (or RGB, channels 3) PNG of one value."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\0" + bytes([grey]) * (width * channels) for _ in range(height))
    colour_type = 2 if channels == 3 else 0
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def gzip_bytes(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = c.compress(data) + c.flush()
    return b"\x1f\x8b\x08\x00\0\0\0\0\x02\xff" + body + struct.pack("<II", zlib.crc32(data), len(data))


NET = os.path.join(SOURCE, "tests", "data", "parity_32x1.bin")
tmp = tempfile.mkdtemp(prefix="gf_hostile_")
try:
    if CASE == "bin_metadata_deep_json":
        # G_kwargs nested 100000 levels: quoting it in the message (json dump)
        # recursed until the stack overflowed (SIGSEGV).
        header, body = read_bin(NET)
        header["__metadata__"]["G_kwargs"] = "[" * 100000 + "]" * 100000
        bad = os.path.join(tmp, "deep.bin")
        write_bin(bad, header, body)
        expect_error(["generate", "--network", bad, "--seeds", "0", "--outdir", os.path.join(tmp, "out")], bad,
                     "nested deeper than")
        if os.path.exists(os.path.join(tmp, "out")):
            sys.exit("FAIL: an output folder was made")
    elif CASE == "bin_many_tensors":
        # 160000 zero-size tensors in a 10 MB header, a valid safetensors file:
        # the header's parse (checked for depth and repeated keys through a
        # parser callback) was quadratic in the tensors and ran for minutes.
        entries = {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(160000)}
        bad = os.path.join(tmp, "many.bin")
        write_bin(bad, entries, b"")
        expect_error(["generate", "--network", bad, "--seeds", "0", "--outdir", os.path.join(tmp, "out")], bad,
                     "holds no G_ema")
    elif CASE == "bin_header_nul_bom":
        # A NUL byte ended the JSON parse, so bytes after it went unread; a
        # byte-order mark was skipped. The safetensors library refuses both.
        header, body = read_bin(NET)
        text = json.dumps(header).encode()
        for raw, needle in ((text + b"\0{garbage", "a NUL byte at byte " + str(len(text))),
                            (b"\xef\xbb\xbf" + text, "does not begin with '{'")):
            raw += b" " * (-len(raw) % 8)
            bad = os.path.join(tmp, "header.bin")
            with open(bad, "wb") as f:
                f.write(struct.pack("<Q", len(raw)) + raw + body)
            expect_error(["inspect_weights", "--network", bad], bad, needle)
    elif CASE == "bin_metadata_type_named":
        # A config value of the wrong type (a string z_dim): the error named
        # the config key but not the file.
        header, body = read_bin(NET)
        g = json.loads(header["__metadata__"]["G_kwargs"])
        g["z_dim"] = "512"
        header["__metadata__"]["G_kwargs"] = json.dumps(g)
        bad = os.path.join(tmp, "typed.bin")
        write_bin(bad, header, body)
        expect_error(["generate", "--network", bad, "--seeds", "0", "--outdir", os.path.join(tmp, "out")], bad,
                     "metadata G_kwargs", "z_dim")
    elif CASE == "bin_metadata_int_range":
        # w_dim 2^40 + 16: read as an int it wrapped to 16, the network's own
        # value, and the file was taken as it was; 1.5 was read as 1.
        header, body = read_bin(NET)
        g = json.loads(header["__metadata__"]["G_kwargs"])
        for value in (2 ** 40 + g["w_dim"], g["w_dim"] + 0.5):
            g["w_dim"] = value
            header["__metadata__"]["G_kwargs"] = json.dumps(g)
            bad = os.path.join(tmp, "wide.bin")
            write_bin(bad, header, body)
            expect_error(["generate", "--network", bad, "--seeds", "0", "--outdir", os.path.join(tmp, "out")], bad,
                         "w_dim", "expected a whole number")
            g["w_dim"] = json.loads(read_bin(NET)[0]["__metadata__"]["G_kwargs"])["w_dim"]
    elif CASE == "bin_metadata_value_range":
        # Values no network has (a mapping lr multiplier of 0, an EMA decay
        # of 2, a clamp of 0) loaded and gave constant or grey images with
        # exit status 0; a missing z_dim took the default 512, and a wrong
        # w_dim failed, with a bare shape error.
        header, body = read_bin(NET)
        original = json.loads(header["__metadata__"]["G_kwargs"])
        cases = [("mapping_lr_multiplier", 0, ["expected a number > 0"]),
                 ("w_avg_beta", 2, ["expected a number in [0, 1]"]),
                 ("conv_clamp", 0, ["a number > 0"]),
                 ("z_dim", None, ["missing key 'z_dim'"]),
                 ("w_dim", original["w_dim"] + 1,
                  ["synthesis.", "the tensors do not fit the network the file's metadata describes"])]
        for key, value, needles in cases:
            g = dict(original)
            if value is None:
                del g[key]
            else:
                g[key] = value
            header["__metadata__"]["G_kwargs"] = json.dumps(g)
            bad = os.path.join(tmp, "range.bin")
            write_bin(bad, header, body)
            expect_error(["generate", "--network", bad, "--seeds", "0", "--outdir", os.path.join(tmp, "out")], bad,
                         *needles)
    elif CASE == "not_a_network":
        # A dataset .zip given as --network was called a PyTorch checkpoint
        # to convert; /dev/zero was "too short to hold a header" (and read
        # whole, an endless stream, where a reader reads to the end).
        dataset = os.path.join(SOURCE, "tests", "data", "dataset_fixture.zip")
        out = os.path.join(tmp, "out")
        expect_error(["generate", "--network", dataset, "--seeds", "0", "--outdir", out], dataset,
                     "a zip archive whose first entry is", "a dataset?")
        expect_error(["generate", "--network", "/dev/zero", "--seeds", "0", "--outdir", out], "/dev/zero",
                     "is a device, not a file")
        expect_error(["generate", "--network", NET, "--z", "/dev/zero", "--outdir", out], "/dev/zero",
                     "is a device, not a file")
    elif CASE == "bin_nan_weight":
        # 8 bytes of 0xff in a weight read as NaN: generate drew NaN images without a word.
        header, body = read_bin(NET)
        name = "G_ema.mapping.fc0.weight"
        begin = header[name]["data_offsets"][0]
        body = body[:begin + 8] + b"\xff" * 8 + body[begin + 16:]
        bad = os.path.join(tmp, "nan.bin")
        write_bin(bad, header, body)
        expect_error(["generate", "--network", bad, "--seeds", "0", "--outdir", os.path.join(tmp, "out")], bad,
                     "tensor 'mapping.fc0.weight'", "is nan")
    elif CASE == "bin_overflowing_weight":
        # A finite but huge weight (1e38 as a noise strength) overflows to a
        # NaN image; the message blamed --trunc, --z or --w, none of them given.
        header, body = read_bin(NET)
        name = "G_ema.synthesis.b8.conv0.noise_strength"
        begin = header[name]["data_offsets"][0]
        body = body[:begin] + struct.pack("<f", 1e38) + body[begin + 4:]
        bad = os.path.join(tmp, "huge.bin")
        write_bin(bad, header, body)
        expect_error(["generate", "--network", bad, "--seeds", "0", "--noise-mode", "const", "--outdir",
                      os.path.join(tmp, "out")], bad, "is not finite", "overflows with ordinary inputs")
    elif CASE == "psp_damaged_encoder":
        # A negative running variance (a mean of squares) and a weight of
        # 1e38 in a pSp encoder: psp encode wrote NaN latents and black
        # PNGs with exit status 0.
        src = os.path.join(tmp, "images")
        os.makedirs(src)
        with open(os.path.join(src, "a.png"), "wb") as f:
            f.write(png(8, 8, 99))
        net = os.path.join(SOURCE, "tests", "data", "psp_gradual.bin")
        out = os.path.join(tmp, "out")
        for name, value, needles in (("encoder.body.0.res_layer.0.running_var", -1.0,
                                      ["running_var' holds -1", "a running variance is >= 0"]),
                                     ("encoder.body.0.res_layer.1.weight", 1e38,
                                      ["the latents of a are not finite", "overflows (damaged weights?)"])):
            header, body = read_bin(net)
            begin, end = header[name]["data_offsets"]
            count = (end - begin) // 4
            body = body[:begin] + struct.pack(f"<{count}f", *([value] * count)) + body[end:]
            bad = os.path.join(tmp, "psp.bin")
            write_bin(bad, header, body)
            expect_error(["psp", "encode", "--network", bad, "--images", src, "--outdir", out], bad, *needles)
            if os.path.exists(os.path.join(out, "latents.npy")):
                sys.exit("FAIL: latents were written")
    elif CASE == "bin_metadata_huge_network":
        # A config whose network is far larger than the file's tensors (each
        # size within its own range): the network was built, 4 GB for a z_dim
        # of 2^24 in a 492-byte file, before its tensors were compared. Run
        # under a 2 GiB address-space limit, which the building outgrew.
        import resource
        def limited():
            resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        out = os.path.join(tmp, "out")
        def expect_refused(args, bad):
            r = subprocess.run([os.path.join(BIN, args[0])] + args[1:], capture_output=True, text=True,
                               errors="replace", env=ENV, timeout=120, preexec_fn=limited)
            lines = r.stderr.splitlines()
            print(f"exit status {r.returncode}, {len(lines)} lines on stderr:\n{r.stderr[-3000:]}")
            if not (r.returncode == 1 and len(lines) == 1 and bad in lines[0]
                    and "the network it describes needs over" in lines[0]):
                sys.exit(f"FAIL: expected one line naming {bad} and the network's size")
        images = os.path.join(tmp, "x.npy")
        with open(images, "wb") as f:  # one float32 [1, 1, 32, 32] image
            head = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 32, 32), }"
            head += " " * (-(len(head) + 11) % 64) + "\n"
            f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode() + bytes(4096))
        for key, field, value, program in (("G_kwargs", "z_dim", 1 << 24, "generate"),
                                           ("G_kwargs", "mapping_layers", 1 << 24, "generate"),
                                           ("D_kwargs", "channel_max", 1 << 16, "discriminate")):
            header, body = read_bin(NET)
            g = json.loads(header["__metadata__"][key])
            g[field] = value
            if field == "channel_max":
                g["channel_base"] = 1 << 22
            header["__metadata__"][key] = json.dumps(g)
            bad = os.path.join(tmp, "huge.bin")
            write_bin(bad, header, body)
            if program == "generate":
                expect_refused(["generate", "--network", bad, "--seeds", "0", "--outdir", out], bad)
            else:
                expect_refused(["discriminate", "--network", bad, "--images", images, "--out", os.path.join(tmp, "d.npy")], bad)
        src = os.path.join(tmp, "images")
        os.makedirs(src)
        with open(os.path.join(src, "a.png"), "wb") as f:
            f.write(png(32, 32, 99))
        header, body = read_bin(os.path.join(SOURCE, "tests", "data", "psp_gradual.bin"))
        p = json.loads(header["__metadata__"]["psp_kwargs"])
        p["units"] = [1 << 16, 2, 2, 1]
        header["__metadata__"]["psp_kwargs"] = json.dumps(p)
        bad = os.path.join(tmp, "psp.bin")
        write_bin(bad, header, body)
        expect_refused(["psp", "encode", "--network", bad, "--images", src, "--outdir", out], bad)
        # --resume: the trainers built their networks (a copy per replica)
        # from the file's configs before comparing its tensors.
        data = os.path.join(tmp, "data")
        os.makedirs(data)
        with open(os.path.join(data, "a.png"), "wb") as f:
            f.write(png(32, 32, 9))
        data_rgb16 = os.path.join(tmp, "data_rgb16")
        os.makedirs(data_rgb16)
        with open(os.path.join(data_rgb16, "a.png"), "wb") as f:
            f.write(png(16, 16, 9, channels=3))
        for program, net, field, folder, extra in (
                ("train_stylegan", NET, "z_dim", data, []),
                ("train_pggan", os.path.join(SOURCE, "tests", "data", "pggan_32x1.bin"), "latent_size", data, []),
                ("train_stylegan", os.path.join(SOURCE, "tests", "data", "stylegan_16x3.bin"), "latent_size", data_rgb16,
                 ["--arch", "stylegan"])):
            header, body = read_bin(net)
            g = json.loads(header["__metadata__"]["G_kwargs"])
            g[field] = 1 << 24
            header["__metadata__"]["G_kwargs"] = json.dumps(g)
            bad = os.path.join(tmp, "resume.bin")
            write_bin(bad, header, body)
            expect_refused([program] + extra + ["--cfg", "tiny", "--data", folder, "--kimg", "0.001", "--resume", bad,
                                                "--outdir", os.path.join(tmp, "runs")], bad)
        # A file without D whose D_kwargs describe a huge one: D is built from
        # them (or from the generator's widths), within the generator's size.
        header, body = read_bin(NET)
        d = json.loads(header["__metadata__"]["D_kwargs"])
        d["channel_base"], d["channel_max"] = 1 << 22, 2048
        header["__metadata__"]["D_kwargs"] = json.dumps(d)
        kept = {k: v for k, v in header.items() if not k.startswith("D.")}
        order = sorted((v["data_offsets"][0], k) for k, v in kept.items() if k != "__metadata__")
        new_body, at = b"", 0
        for _, k in order:  # the D tensors' bytes go with them
            b, e = kept[k]["data_offsets"]
            kept[k] = dict(kept[k], data_offsets=[at, at + e - b])
            new_body += body[b:e]
            at += e - b
        bad = os.path.join(tmp, "no_d.bin")
        write_bin(bad, kept, new_body)
        expect_refused(["train_stylegan", "--cfg", "tiny", "--data", data, "--kimg", "0.001", "--resume", bad,
                        "--outdir", os.path.join(tmp, "runs")], bad)
    elif CASE == "bin_name_newline":
        # A tensor name with a newline, quoted in the error: two lines on stderr.
        header, body = read_bin(NET)
        name = sorted(k for k in header if k != "__metadata__")[0]
        entry = header.pop(name)
        entry["dtype"] = "I8"
        header[name + "\nsecond line"] = entry
        bad = os.path.join(tmp, "name.bin")
        write_bin(bad, header, body)
        expect_error(["inspect_weights", "--network", bad], bad, "\\nsecond line", "dtype 'I8'")
    elif CASE == "dataset_json_deep":
        # dataset.json labels nested 100000 levels: the message quoting the
        # bad pair recursed until the stack overflowed.
        src = os.path.join(tmp, "src")
        os.makedirs(src)
        with open(os.path.join(src, "a.png"), "wb") as f:
            f.write(png(4, 4, 128))
        with open(os.path.join(src, "dataset.json"), "w") as f:
            f.write('{"labels": [' + "[" * 100000 + "]" * 100000 + "]}")
        dest = os.path.join(tmp, "out.zip")
        expect_error(["dataset_tool", "--source", src, "--dest", dest], "dataset.json")
        if os.path.exists(dest):
            sys.exit("FAIL: an output was written")
        # train_stylegan reads labels with its own reader (data/dataset.cpp).
        expect_error(["train_stylegan", "--data", src, "--cond", "--cfg", "tiny", "--kimg", "0.001",
                      "--outdir", os.path.join(tmp, "runs")], "dataset.json", "nested deeper than")
    elif CASE == "png_bad_crc":
        # One byte of a PNG's compressed pixels changed: stb_image checks no
        # CRC, so the image decoded to other pixels and joined the dataset.
        src = os.path.join(tmp, "src")
        os.makedirs(src)
        good = png(8, 8, 128)
        with open(os.path.join(src, "a.png"), "wb") as f:
            f.write(good)
        # A bit of the zlib data whose change still inflates, to other pixels
        # (a flip that breaks the deflate stream stb_image refused already).
        at = good.index(b"IDAT") + 4
        length = struct.unpack(">I", good[at - 8:at - 4])[0]
        data, rows = good[at:at + length], zlib.decompress(good[at:at + length])

        def other_pixels(i, bit):
            b = bytearray(data)
            b[i] ^= 1 << bit
            try:
                d = zlib.decompressobj(-15)
                out = d.decompress(bytes(b[2:]))
                # Every scanline's filter byte still valid (0..4): pixels a decoder takes.
                return (d.eof and len(out) == len(rows) and out != rows
                        and all(out[r * 9] <= 4 for r in range(8)))
            except zlib.error:
                return False
        i, bit = next((i, bit) for i in range(2, length - 4) for bit in range(8) if other_pixels(i, bit))
        bad = bytearray(good)
        bad[at + i] ^= 1 << bit
        with open(os.path.join(src, "b.png"), "wb") as f:
            f.write(bytes(bad))
        dest = os.path.join(tmp, "out.zip")
        expect_error(["dataset_tool", "--source", src, "--dest", dest], os.path.join(src, "b.png"),
                     "corrupt PNG", "IDAT")
        if os.path.exists(dest):
            sys.exit("FAIL: an output was written")
    elif CASE == "png_too_large":
        # A header claiming 100000x100000 pixels (40 bytes): refused by its
        # size, as PIL refuses it (stb_image's reason was the last format it
        # tried, "Image not of any known type, or corrupt").
        src = os.path.join(tmp, "src")
        os.makedirs(src)
        huge = bytearray(png(8, 8, 3))
        huge[16:24] = struct.pack(">II", 100000, 100000)
        huge[29:33] = struct.pack(">I", zlib.crc32(bytes(huge[12:29])))
        with open(os.path.join(src, "a.png"), "wb") as f:
            f.write(bytes(huge))
        dest = os.path.join(tmp, "out.zip")
        expect_error(["dataset_tool", "--source", src, "--dest", dest], os.path.join(src, "a.png"),
                     "a PNG of 100000x100000 pixels, more than PIL opens")
    elif CASE == "resume_config_named":
        # --resume of networks that do not fit --data: the trainer's check
        # named neither the file nor the flag the configs came from.
        # (StyleGAN2 networks take another resolution, as the official
        # resume does, but not labels the data lacks.)
        src = os.path.join(tmp, "src")
        os.makedirs(src)
        with open(os.path.join(src, "a.png"), "wb") as f:
            f.write(png(8, 8, 9))
        conditional = os.path.join(SOURCE, "tests", "data", "parity_32x3_c4.bin")
        for program, net, why in (
                ("train_stylegan", conditional, "its networks are conditional (4 labels), but src has no labels: add --cond"),
                ("train_pggan", os.path.join(SOURCE, "tests", "data", "pggan_32x1.bin"), "--resume needs data the networks fit")):
            expect_error([program, "--cfg", "tiny", "--data", src, "--kimg", "0.001", "--resume", net,
                          "--outdir", os.path.join(tmp, "runs")], net, why)
    elif CASE == "mnist_no_images":
        # An IDX image file whose header counts 0 images: an empty dataset
        # (training's sampler took its index modulo 0).
        src = os.path.join(tmp, "mnist")
        os.makedirs(src)
        images = os.path.join(src, "train-images-idx3-ubyte.gz")
        with open(images, "wb") as f:
            f.write(gzip_bytes(struct.pack(">IIII", 0x803, 0, 28, 28)))
        with open(os.path.join(src, "train-labels-idx1-ubyte.gz"), "wb") as f:
            f.write(gzip_bytes(struct.pack(">II", 0x801, 0)))
        expect_error(["dataset_tool", "--source", images, "--dest", os.path.join(tmp, "out.zip")], images,
                     "holds no images")
    elif CASE == "report_extreme_values":
        # Two ticks at kimg 1e22 and the next double: the axis's tick loop
        # (k += 1 above 2^53) never ended, growing its list until memory ran out.
        run_dir = os.path.join(tmp, "00000-run")
        os.makedirs(run_dir)
        with open(os.path.join(run_dir, "stats.jsonl"), "w") as f:
            for i, k in enumerate([1e22, 1.0000000000000002e22]):
                f.write(json.dumps({"kimg": k, "tick": i, "Loss/G/loss": k, "total_sec": 1e308 * (i + 1)}) + "\n")
        r = run(["make_report", run_dir], timeout=60)
        print(r.stdout, r.stderr)
        if r.returncode != 0 or not os.path.getsize(os.path.join(run_dir, "report.html")):
            sys.exit("FAIL: make_report did not write the page")
    elif CASE == "report_deep_options":
        # training_options.json nested 200000 levels: the page's table of
        # options walked it recursively until the stack overflowed.
        run_dir = os.path.join(tmp, "00000-run")
        os.makedirs(run_dir)
        with open(os.path.join(run_dir, "stats.jsonl"), "w") as f:
            f.write(json.dumps({"kimg": 0.0, "tick": 0}) + "\n")
        with open(os.path.join(run_dir, "training_options.json"), "w") as f:
            f.write('{"a":' * 200000 + "1" + "}" * 200000)
        r = run(["make_report", run_dir], timeout=60)
        print(r.stdout, r.stderr)
        page = os.path.join(run_dir, "report.html")
        if r.returncode != 0 or not os.path.exists(page):
            sys.exit("FAIL: make_report did not write the page")
        with open(page) as f:
            if "training_options.json could not be read" not in f.read():
                sys.exit("FAIL: the page does not say the options could not be read")
    elif CASE == "report_many_keys":
        # Every line a new statistic: rows x keys cells grew quadratically (a
        # few MB of stats.jsonl asked for tens of GB); refused past 2^25 cells.
        run_dir = os.path.join(tmp, "00000-run")
        os.makedirs(run_dir)
        stats = os.path.join(run_dir, "stats.jsonl")
        with open(stats, "w") as f:
            for i in range(6000):
                f.write('{"kimg": %d, "k%d": 1}\n' % (i, i))
        expect_error(["make_report", run_dir], "stats.jsonl", "more than a report holds")
    else:
        sys.exit(f"unknown case {CASE}")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
