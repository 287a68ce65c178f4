/* npy2c.c: a host tool of the firmware example. It turns float32 .npy files
 * into what the image and the test need, without Python:
 *
 *   npy2c -c NAME=FILE.npy ...   C: `static const float NAME[]` with the data
 *                                and NAME_COUNT, NAME_RANK, NAME_D0.. defines
 *   npy2c -s NAME=FILE.npy ...   C: only the defines (for outputs)
 *   npy2c -t NAME=FILE.npy ...   text: one `NAME INDEX VALUE` line per element
 *
 * Only little-endian float32 arrays in C order are accepted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAX_RANK 8

typedef struct npy_array {
    int rank;
    long dims[NPY_MAX_RANK];
    long count;
    float *data;
} npy_array;

static int fail(const char *path, const char *why)
{
    fprintf(stderr, "npy2c: %s: %s\n", path, why);
    return 1;
}

/* Reads the dimensions from the header's `'shape': (a, b, )` entry. */
static int parse_shape(const char *hdr, npy_array *a)
{
    const char *p = strstr(hdr, "'shape'");
    p = p ? strchr(p, '(') : NULL;
    if (!p)
        return -1;
    a->rank = 0;
    a->count = 1;
    for (p++; *p && *p != ')';) {
        char *end;
        long d = strtol(p, &end, 10);
        if (end == p) {
            p++;
            continue;
        }
        if (a->rank == NPY_MAX_RANK || d < 0)
            return -1;
        a->dims[a->rank++] = d;
        a->count *= d;
        p = end;
    }
    return 0;
}

static int check_header(const char *hdr)
{
    if (!strstr(hdr, "'descr': '<f4'"))
        return -1;
    return strstr(hdr, "'fortran_order': False") ? 0 : -1;
}

/* Reads the magic, the header (versions 1 and 2) and the data. */
static int read_npy(const char *path, npy_array *a)
{
    unsigned char pre[12];
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(path, "cannot open");
    int ok = fread(pre, 1, 10, f) == 10 && memcmp(pre, "\x93NUMPY", 6) == 0;
    unsigned long hlen = ok ? pre[8] | (unsigned long)pre[9] << 8 : 0;
    if (ok && pre[6] >= 2) {
        ok = fread(pre + 10, 1, 2, f) == 2;
        hlen |= (unsigned long)pre[10] << 16 | (unsigned long)pre[11] << 24;
    }
    char *hdr = ok ? calloc(hlen + 1, 1) : NULL;
    ok = hdr && fread(hdr, 1, hlen, f) == hlen && check_header(hdr) == 0 && parse_shape(hdr, a) == 0;
    free(hdr);
    a->data = ok ? malloc(sizeof(float) * (size_t)(a->count ? a->count : 1)) : NULL;
    ok = a->data && fread(a->data, sizeof(float), (size_t)a->count, f) == (size_t)a->count;
    fclose(f);
    return ok ? 0 : fail(path, "not a C-order little-endian float32 .npy file");
}

static void print_defines(const char *name, const npy_array *a)
{
    printf("#define %s_COUNT %ld\n#define %s_RANK %d\n", name, a->count, name, a->rank);
    for (int i = 0; i < a->rank; i++)
        printf("#define %s_D%d %ld\n", name, i, a->dims[i]);
}

static void print_data(const char *name, const npy_array *a)
{
    printf("static const float %s[%ld] = {\n", name, a->count ? a->count : 1);
    for (long i = 0; i < a->count; i++)
        printf("  %.9gf,%s", a->data[i], i % 6 == 5 ? "\n" : "");
    printf("%s};\n", a->count ? "\n" : "  0.0f\n");
}

static void print_text(const char *name, const npy_array *a)
{
    for (long i = 0; i < a->count; i++)
        printf("%s %ld %.9g\n", name, i, a->data[i]);
}

/* Handles one NAME=FILE argument in the given mode. */
static int convert(char mode, char *arg)
{
    char *eq = strchr(arg, '=');
    npy_array a;
    if (!eq)
        return fail(arg, "expected NAME=FILE.npy");
    *eq = 0;
    if (read_npy(eq + 1, &a) != 0)
        return 1;
    if (mode == 't')
        print_text(arg, &a);
    else
        print_defines(arg, &a);
    if (mode == 'c')
        print_data(arg, &a);
    free(a.data);
    return 0;
}

int main(int argc, char **argv)
{
    char mode = 'c';
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && strchr("cst", argv[i][1]) && argv[i][1])
            mode = argv[i][1];
        else
            rc |= convert(mode, argv[i]);
    }
    return rc;
}
