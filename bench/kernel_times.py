#!/usr/bin/python3
"""kernel_times.py: per-kernel CPU time of an emitted model (1 thread).

Rewrites the entry function of an aotc-emitted C file so that every
top-level statement of its body (one kernel: a loop nest or a packed
contraction block) is timed with CLOCK_THREAD_CPUTIME_ID, accumulated over
calls (-DKT_CLOCK=CLOCK_MONOTONIC: wall time, for several threads);
NAME_kernel_report(FILE *) prints the kernels by time, each labelled
by the tensor it writes (and m x n x k for a packed contraction).

    bench/kernel_times.py IN.c NAME OUT.c      # then build OUT.c with
    cc -DKT_MAIN ... bench/model_main.c OUT.c; the bench prints the report
"""
import re
import sys


def label(block):
    text = "\n".join(block)
    m = re.search(r"aotc_m = ([^;]*);\s*const int64_t aotc_n = ([^;]*);\s*const int64_t aotc_k = ([^;]*);\s*"
                  r"const int64_t aotc_nb = ([^;]*);", text)
    w = re.search(r"float \*aotc_c = &(\w+)\[", text)
    if m and w:
        ev = [str(eval(x)) for x in m.groups()]
        return "packed %s m=%s n=%s k=%s batches=%s" % (w.group(1), *ev)
    win = re.search(r"\n\s*(\w+)\[aotc_wo \+ aotc_ww\] = ", text)
    if win:
        return "window " + win.group(1)
    grp = re.search(r"float \*aotc_y = &(\w+)\[", text)
    if grp:
        return "grouped " + grp.group(1)
    for line in block:
        a = re.match(r"\s*(\w+)\[[^=]*\] (\+|-|\*)?= ", line)
        if a:
            return "%s %s" % ("reduce" if a.group(2) else "loop", a.group(1))
    return "block " + block[0].strip()[:60]


def main():
    src, name, dst = sys.argv[1:4]
    lines = open(src).read().split("\n")
    start = next(i for i, l in enumerate(lines) if re.match(r"int %s\(" % name, l))
    out = lines[:start]
    i = start
    while not lines[i].startswith("{"):
        out.append(lines[i]); i += 1
    out.append(lines[i]); i += 1
    labels, depth, block = [], 0, []
    while True:
        l = lines[i]
        if depth == 0 and l.startswith("}"):
            break
        opens, closes = l.count("{"), l.count("}")
        if depth == 0 and opens > closes and not l.strip().startswith("#"):
            block = [l]
            depth = opens - closes
            pre = []
            while out and out[-1].startswith("#") and ("omp" in out[-1] or out[-1].startswith("#if")
                                                          or out[-1].startswith("#endif") or out[-1].startswith("#pragma")):
                pre.insert(0, out.pop())
            out.append("  kt_begin();")
            out.extend(pre)
            out.append(l)
        elif depth > 0:
            block.append(l)
            depth += opens - closes
            out.append(l)
            if depth == 0:
                labels.append(label(block))
                out.append("  kt_end(%d);" % (len(labels) - 1))
        else:
            out.append(l)
        i += 1
    out.extend(lines[i:])
    n = len(labels)
    head = ["#include <time.h>", "#include <stdio.h>",
            "static double kt_t[%d], kt_t0;" % n,
            "#ifndef KT_CLOCK", "#define KT_CLOCK CLOCK_THREAD_CPUTIME_ID", "#endif",
            "static double kt_now(void) { struct timespec ts; clock_gettime(KT_CLOCK, &ts);"
            " return ts.tv_sec + ts.tv_nsec * 1e-9; }",
            "static void kt_begin(void) { kt_t0 = kt_now(); }",
            "static void kt_end(int i) { kt_t[i] += kt_now() - kt_t0; }",
            "static const char *const kt_label[%d] = {%s};" % (n, ", ".join('"%s"' % s for s in labels)),
            "void %s_kernel_report(FILE *f, int calls);" % name,
            "void %s_kernel_report(FILE *f, int calls) { int o[%d]; double tot = 0; for (int i = 0; i < %d; i++) "
            "{ o[i] = i; tot += kt_t[i]; }" % (name, n, n),
            "  for (int i = 0; i < %d; i++) for (int j = i + 1; j < %d; j++) if (kt_t[o[j]] > kt_t[o[i]]) "
            "{ int t = o[i]; o[i] = o[j]; o[j] = t; }" % (n, n),
            "  fprintf(f, \"total %.3f ms per call\\n\", tot * 1e3 / calls);",
            "  for (int i = 0; i < %d; i++) fprintf(f, \"%%8.3f ms %%5.1f%%%% %%s\\n\", kt_t[o[i]] * 1e3 / calls, "
            "100 * kt_t[o[i]] / tot, kt_label[o[i]]); }" % n]
    text = "\n".join(out)
    pos = text.index("\n", text.index("#include")) + 1
    open(dst, "w").write(text[:pos] + "\n".join(head) + "\n" + text[pos:])


if __name__ == "__main__":
    main()
