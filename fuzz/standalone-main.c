/* standalone-main.c — a main() for the fuzz targets when libFuzzer is not
 * there (gcc builds, the default): replays every corpus file given on the
 * command line (files or directories), then runs a fixed number of
 * deterministic mutations of them (bit flips, interesting bytes, inserts,
 * deletes, truncation, duplication, splices). It is what makes each target a
 * regular meson test, sanitizers included; the long runs use libFuzzer
 * (meson option `fuzzing`, see fuzz/README.md).
 *
 *   fuzz-TARGET [-n MUTATIONS] [-s SEED] [-v] FILE|DIR...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv) __attribute__((weak));

typedef struct {
  uint8_t *data;
  size_t size;
  char *path;
} Input;

static Input *inputs;
static size_t n_inputs, cap_inputs;
static uint64_t rng_state;

#define FUZZ_MAX_INPUT (1u << 20)    /* like libFuzzer's -max_len: larger files are cut */

static uint64_t
rng (void)
{
  /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t
rng_below (size_t n)
{
  return n ? (size_t) (rng () % n) : 0;
}

static void
add_file (const char *path)
{
  FILE *f = fopen (path, "rb");
  if (!f) {
    fprintf (stderr, "cannot open %s\n", path);
    exit (2);
  }
  uint8_t *buf = malloc (FUZZ_MAX_INPUT);
  size_t n = fread (buf, 1, FUZZ_MAX_INPUT, f);
  fclose (f);
  if (n_inputs == cap_inputs) {
    cap_inputs = cap_inputs ? 2 * cap_inputs : 64;
    inputs = realloc (inputs, cap_inputs * sizeof *inputs);
  }
  inputs[n_inputs].data = realloc (buf, n ? n : 1);
  inputs[n_inputs].size = n;
  inputs[n_inputs].path = strdup (path);
  n_inputs++;
}

static int
cmp_input (const void *a, const void *b)
{
  return strcmp (((const Input *) a)->path, ((const Input *) b)->path);
}

static void
add_path (const char *path)
{
  struct stat sb;
  if (stat (path, &sb) != 0) {
    fprintf (stderr, "cannot stat %s\n", path);
    exit (2);
  }
  if (!S_ISDIR (sb.st_mode)) {
    add_file (path);
    return;
  }
  DIR *d = opendir (path);
  struct dirent *e;
  while (d && (e = readdir (d))) {
    if (e->d_name[0] == '.')
      continue;
    size_t len = strlen (path) + strlen (e->d_name) + 2;
    char *p = malloc (len);
    snprintf (p, len, "%s/%s", path, e->d_name);
    if (stat (p, &sb) == 0 && S_ISREG (sb.st_mode))
      add_file (p);
    free (p);
  }
  if (d)
    closedir (d);
}

static const uint8_t interesting[] = { 0, 1, 0x7f, 0x80, 0xff, '"', '[', ']',
  '{', '}', ',', ':', '-', '+', '.', 'e', '0', '9', ' ', ';', '#', '\n', 0xfe
};

/* Applies one random edit to buf[0..*len) (capacity cap). */
static void
mutate_once (uint8_t * buf, size_t * len, size_t cap)
{
  size_t n = *len;
  switch (rng_below (8)) {
    case 0:                    /* bit flip */
      if (n)
        buf[rng_below (n)] ^= (uint8_t) (1u << rng_below (8));
      break;
    case 1:                    /* interesting byte */
      if (n)
        buf[rng_below (n)] = interesting[rng_below (sizeof interesting)];
      break;
    case 2:                    /* random byte */
      if (n)
        buf[rng_below (n)] = (uint8_t) rng ();
      break;
    case 3:{                   /* insert a byte */
      if (n + 1 > cap)
        break;
      size_t at = rng_below (n + 1);
      memmove (buf + at + 1, buf + at, n - at);
      buf[at] = rng_below (2) ? interesting[rng_below (sizeof interesting)] :
          (uint8_t) rng ();
      *len = n + 1;
      break;
    }
    case 4:{                   /* delete a run */
      if (!n)
        break;
      size_t at = rng_below (n), k = 1 + rng_below (n - at < 16 ? n - at : 16);
      memmove (buf + at, buf + at + k, n - at - k);
      *len = n - k;
      break;
    }
    case 5:                    /* truncate */
      *len = rng_below (n + 1);
      break;
    case 6:{                   /* duplicate a chunk */
      if (!n)
        break;
      size_t from = rng_below (n), k = 1 + rng_below (n - from);
      if (k > 64)
        k = 64;
      if (n + k > cap)
        break;
      size_t at = rng_below (n + 1);
      uint8_t tmp[64];
      memcpy (tmp, buf + from, k);
      memmove (buf + at + k, buf + at, n - at);
      memcpy (buf + at, tmp, k);
      *len = n + k;
      break;
    }
    default:{                  /* overwrite with a chunk of another input */
      const Input *o = &inputs[rng_below (n_inputs)];
      if (!o->size || !n)
        break;
      size_t from = rng_below (o->size), k = 1 + rng_below (o->size - from);
      size_t at = rng_below (n);
      if (k > n - at)
        k = n - at;
      memcpy (buf + at, o->data + from, k);
      break;
    }
  }
}

int
main (int argc, char **argv)
{
  long n_mut = 1000;
  uint64_t seed = 1;
  int verbose = 0;

  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize (&argc, &argv);
  for (int i = 1; i < argc; i++) {
    if (!strcmp (argv[i], "-n") && i + 1 < argc)
      n_mut = strtol (argv[++i], NULL, 10);
    else if (!strcmp (argv[i], "-s") && i + 1 < argc)
      seed = strtoull (argv[++i], NULL, 10);
    else if (!strcmp (argv[i], "-v"))
      verbose = 1;
    else
      add_path (argv[i]);
  }
  if (getenv ("FUZZ_MUTATIONS"))
    n_mut = strtol (getenv ("FUZZ_MUTATIONS"), NULL, 10);
  if (n_inputs == 0) {
    fprintf (stderr, "usage: %s [-n MUTATIONS] [-s SEED] FILE|DIR...\n",
        argv[0]);
    return 2;
  }
  qsort (inputs, n_inputs, sizeof *inputs, cmp_input);
  rng_state = seed * 0x9e3779b97f4a7c15ull + 1;

  for (size_t i = 0; i < n_inputs; i++) {
    if (verbose)
      fprintf (stderr, "replay %s (%zu bytes)\n", inputs[i].path,
          inputs[i].size);
    /* a private copy so reads past the end are caught by ASan */
    uint8_t *copy = malloc (inputs[i].size ? inputs[i].size : 1);
    memcpy (copy, inputs[i].data, inputs[i].size);
    LLVMFuzzerTestOneInput (copy, inputs[i].size);
    free (copy);
  }

  size_t cap = 0;
  for (size_t i = 0; i < n_inputs; i++)
    if (inputs[i].size > cap)
      cap = inputs[i].size;
  cap = cap * 2 + 256;
  uint8_t *buf = malloc (cap);
  for (long m = 0; m < n_mut; m++) {
    const Input *src = &inputs[rng_below (n_inputs)];
    size_t len = src->size;
    memcpy (buf, src->data, len);
    int edits = 1 + (int) rng_below (4);
    for (int e = 0; e < edits; e++)
      mutate_once (buf, &len, cap);
    uint8_t *copy = malloc (len ? len : 1);
    memcpy (copy, buf, len);
    LLVMFuzzerTestOneInput (copy, len);
    free (copy);
  }
  free (buf);
  printf ("%s: %zu corpus inputs and %ld mutations (seed %llu) ran\n",
      argv[0], n_inputs, n_mut, (unsigned long long) seed);
  for (size_t i = 0; i < n_inputs; i++) {
    free (inputs[i].data);
    free (inputs[i].path);
  }
  free (inputs);
  return 0;
}
