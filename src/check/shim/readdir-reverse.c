/*
 * reprod check: an LD_PRELOAD shim that returns every directory's entries in
 * the reverse of the file system's order, like `disorderfs --reverse-dirents`
 * but needing no FUSE and no capability. On ext4 and overlayfs the readdir
 * order is a hash of the names, so re-creating a tree in another order does
 * not change it; this does. Programs that call getdents directly (Go) are not
 * affected. Not thread-safe per DIR stream (neither is readdir itself).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 512

struct listing {
  DIR *dir;
  struct dirent64 *entries;
  size_t count;
  size_t next;
};

static struct listing slots[SLOTS];

static struct dirent64 *(*real_readdir64)(DIR *);
static int (*real_closedir)(DIR *);
static void (*real_rewinddir)(DIR *);

static void init(void) {
  if (!real_readdir64) real_readdir64 = dlsym(RTLD_NEXT, "readdir64");
  if (!real_closedir) real_closedir = dlsym(RTLD_NEXT, "closedir");
  if (!real_rewinddir) real_rewinddir = dlsym(RTLD_NEXT, "rewinddir");
}

static struct listing *find(DIR *dir) {
  for (size_t i = 0; i < SLOTS; i++)
    if (slots[i].dir == dir) return &slots[i];
  return NULL;
}

static void drop(struct listing *l) {
  free(l->entries);
  memset(l, 0, sizeof *l);
}

/* Reads the whole directory once, then hands the entries out last first. */
static struct dirent64 *reversed(DIR *dir) {
  init();
  struct listing *l = find(dir);
  if (!l) {
    l = find(NULL);
    if (!l) return real_readdir64(dir); /* too many open directories: pass through */
    size_t cap = 64;
    l->entries = malloc(cap * sizeof(struct dirent64));
    if (!l->entries) return real_readdir64(dir);
    l->dir = dir;
    struct dirent64 *e;
    while ((e = real_readdir64(dir)) != NULL) {
      if (l->count == cap) {
        cap *= 2;
        struct dirent64 *grown = realloc(l->entries, cap * sizeof(struct dirent64));
        if (!grown) break;
        l->entries = grown;
      }
      memcpy(&l->entries[l->count++], e, sizeof(struct dirent64));
    }
  }
  if (l->next >= l->count) return NULL;
  return &l->entries[l->count - 1 - l->next++];
}

struct dirent64 *readdir64(DIR *dir) { return reversed(dir); }
/* On 64-bit glibc struct dirent and struct dirent64 have the same layout. */
struct dirent *readdir(DIR *dir) { return (struct dirent *)reversed(dir); }

int closedir(DIR *dir) {
  init();
  struct listing *l = find(dir);
  if (l) drop(l);
  return real_closedir(dir);
}

void rewinddir(DIR *dir) {
  init();
  struct listing *l = find(dir);
  if (l) drop(l);
  real_rewinddir(dir);
}
