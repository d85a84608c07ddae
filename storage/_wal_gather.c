/*
 * Optional SQLite VFS shim: a transaction's WAL frames reach the file in one write.
 *
 * SQLite appends each WAL frame with two write() calls, its 24-byte header and its page, so a
 * commit of 16 pages costs 32 system calls. On the ext4 volumes we measured each one costs about
 * 4 us of kernel time whatever its size, close to a tenth of a sequential send's CPU. This VFS wraps the process's default VFS and changes one thing: writes to a WAL
 * file that continue the previous one are gathered in memory and handed to the real file as one
 * write. Everything else (locking, shared memory, sync, reads of other files) is forwarded as is.
 *
 * Gathered bytes are written before anything could observe the file without them:
 *  - at the end of a commit: the page that follows a frame header whose "database size after
 *    commit" field is set is the last write of the commit, and the gathered frames are written
 *    in that call, so a failure is reported as that frame's write error;
 *  - before any other call on the WAL file (read, sync, size, truncate, file control, close);
 *  - in the main database's shared-memory barrier, which SQLite issues before it publishes new
 *    frames to other connections (a safety net: the commit rule has already written them);
 *  - before a write that does not continue the gathered range, or would overflow the buffer.
 * So a COMMIT returns only after its frames were written (and, with synchronous=FULL, synced),
 * exactly as without the shim, and a process killed meanwhile leaves what it would have left:
 * frames of an uncommitted transaction, or none.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define VFS_NAME "wamd-walbatch"
#define FRAME_HEADER_SIZE 24
#define BUFFER_LIMIT (1 << 20)
/* The unix VFS writes at most 128 KiB - 1 bytes per call (os_unix.c masks the length with
   0x1ffff, as no page is larger than 64 KiB): longer runs go in chunks below that. */
#define WRITE_CHUNK (31 * 4096)

typedef struct GatheringFile GatheringFile;

struct GatheringFile {
    sqlite3_file base;
    sqlite3_file *real;      /* the wrapped VFS's file, allocated right after this struct */
    GatheringFile *wal;      /* on a main database file: its open WAL file, if any */
    GatheringFile *db;       /* on a WAL file: its main database file */
    int is_wal;
    int commit_pending;      /* the last write was a commit frame's header */
    unsigned char *buffer;
    int used;
    int capacity;
    sqlite3_int64 start;     /* file offset of buffer[0] */
};

static sqlite3_vfs *wrapped;
static sqlite3_vfs gathering_vfs;

/* Calls SQLite made to write the WAL, and writes handed to the real file for them. */
static unsigned long long wal_writes_asked;
static unsigned long long wal_writes_made;

static int flush(GatheringFile *f) {
    if (f->used == 0) {
        return SQLITE_OK;
    }
    int used = f->used;
    f->used = 0;
    for (int done = 0; done < used; done += WRITE_CHUNK) {
        int amount = used - done < WRITE_CHUNK ? used - done : WRITE_CHUNK;
        __atomic_fetch_add(&wal_writes_made, 1, __ATOMIC_RELAXED);
        int rc = f->real->pMethods->xWrite(f->real, f->buffer + done, amount, f->start + done);
        if (rc != SQLITE_OK) {
            return rc;
        }
    }
    return SQLITE_OK;
}

static unsigned int big_endian_u32(const unsigned char *p) {
    return ((unsigned int)p[0] << 24) | ((unsigned int)p[1] << 16) | ((unsigned int)p[2] << 8) |
           (unsigned int)p[3];
}

static int write_through(GatheringFile *f, const void *data, int amount, sqlite3_int64 offset) {
    int rc = flush(f);
    if (rc != SQLITE_OK) {
        return rc;
    }
    __atomic_fetch_add(&wal_writes_made, 1, __ATOMIC_RELAXED);
    return f->real->pMethods->xWrite(f->real, data, amount, offset);
}

static int append(GatheringFile *f, const void *data, int amount, sqlite3_int64 offset) {
    int rc;
    if (f->used > 0 && offset != f->start + f->used) {
        rc = flush(f);
        if (rc != SQLITE_OK) {
            return rc;
        }
    }
    if (f->used + amount > BUFFER_LIMIT) {
        rc = flush(f);
        if (rc != SQLITE_OK) {
            return rc;
        }
        if (amount > BUFFER_LIMIT / 2) {
            return write_through(f, data, amount, offset);
        }
    }
    if (f->used + amount > f->capacity) {
        int capacity = f->capacity ? f->capacity : 64 * 1024;
        while (capacity < f->used + amount) {
            capacity *= 2;
        }
        unsigned char *grown = realloc(f->buffer, (size_t)capacity);
        if (grown == NULL) {
            return write_through(f, data, amount, offset);
        }
        f->buffer = grown;
        f->capacity = capacity;
    }
    if (f->used == 0) {
        f->start = offset;
    }
    memcpy(f->buffer + f->used, data, (size_t)amount);
    f->used += amount;
    return SQLITE_OK;
}

static int gather_write(GatheringFile *f, const void *data, int amount, sqlite3_int64 offset) {
    /* SQLite writes a frame as its header, then its page: the page after a commit frame's
       header is the commit's last write. */
    int header = amount == FRAME_HEADER_SIZE;
    int ends_commit = !header && f->commit_pending;
    f->commit_pending =
        header && big_endian_u32((const unsigned char *)data + 4) != 0 ? 1 : 0;
    int rc = append(f, data, amount, offset);
    if (rc != SQLITE_OK || !ends_commit) {
        return rc;
    }
    return flush(f);
}

/* ------------------------------------------------------------------ io methods */

/* Before any call but a write on a WAL file, what was gathered goes to the file. */
static int settle(GatheringFile *f) { return f->is_wal ? flush(f) : SQLITE_OK; }

#define SETTLE_OR_RETURN(f)               \
    do {                                  \
        int settled_rc = settle(f);       \
        if (settled_rc != SQLITE_OK) {    \
            return settled_rc;            \
        }                                 \
    } while (0)

static int g_close(sqlite3_file *file) {
    GatheringFile *f = (GatheringFile *)file;
    int rc = settle(f);
    if (f->is_wal && f->db != NULL && f->db->wal == f) {
        f->db->wal = NULL;
    }
    if (!f->is_wal && f->wal != NULL) {
        f->wal->db = NULL;
    }
    int closed = f->real->pMethods->xClose(f->real);
    free(f->buffer);
    f->buffer = NULL;
    f->capacity = 0;
    return rc != SQLITE_OK ? rc : closed;
}

static int g_read(sqlite3_file *file, void *out, int amount, sqlite3_int64 offset) {
    GatheringFile *f = (GatheringFile *)file;
    SETTLE_OR_RETURN(f);
    return f->real->pMethods->xRead(f->real, out, amount, offset);
}

static int g_write(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset) {
    GatheringFile *f = (GatheringFile *)file;
    if (f->is_wal) {
        __atomic_fetch_add(&wal_writes_asked, 1, __ATOMIC_RELAXED);
        return gather_write(f, data, amount, offset);
    }
    return f->real->pMethods->xWrite(f->real, data, amount, offset);
}

static int g_truncate(sqlite3_file *file, sqlite3_int64 size) {
    GatheringFile *f = (GatheringFile *)file;
    SETTLE_OR_RETURN(f);
    return f->real->pMethods->xTruncate(f->real, size);
}

static int g_sync(sqlite3_file *file, int flags) {
    GatheringFile *f = (GatheringFile *)file;
    SETTLE_OR_RETURN(f);
    return f->real->pMethods->xSync(f->real, flags);
}

static int g_file_size(sqlite3_file *file, sqlite3_int64 *size) {
    GatheringFile *f = (GatheringFile *)file;
    SETTLE_OR_RETURN(f);
    return f->real->pMethods->xFileSize(f->real, size);
}

static int g_lock(sqlite3_file *file, int level) {
    GatheringFile *f = (GatheringFile *)file;
    return f->real->pMethods->xLock(f->real, level);
}

static int g_unlock(sqlite3_file *file, int level) {
    GatheringFile *f = (GatheringFile *)file;
    return f->real->pMethods->xUnlock(f->real, level);
}

static int g_check_reserved_lock(sqlite3_file *file, int *out) {
    GatheringFile *f = (GatheringFile *)file;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int g_file_control(sqlite3_file *file, int op, void *arg) {
    GatheringFile *f = (GatheringFile *)file;
    SETTLE_OR_RETURN(f);
    if (op == SQLITE_FCNTL_VFSNAME) {
        /* Name the shim in front of the wrapped VFS's own answer. */
        int rc = f->real->pMethods->xFileControl(f->real, op, arg);
        char **name = (char **)arg;
        char *own = sqlite3_mprintf("%s/%s", VFS_NAME, rc == SQLITE_OK && *name ? *name : "");
        if (rc == SQLITE_OK && *name) {
            sqlite3_free(*name);
        }
        *name = own;
        return SQLITE_OK;
    }
    return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int g_sector_size(sqlite3_file *file) {
    GatheringFile *f = (GatheringFile *)file;
    return f->real->pMethods->xSectorSize(f->real);
}

static int g_device_characteristics(sqlite3_file *file) {
    GatheringFile *f = (GatheringFile *)file;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int g_shm_map(sqlite3_file *file, int region, int size, int extend, void volatile **out) {
    GatheringFile *f = (GatheringFile *)file;
    return f->real->pMethods->xShmMap(f->real, region, size, extend, out);
}

static int g_shm_lock(sqlite3_file *file, int offset, int n, int flags) {
    GatheringFile *f = (GatheringFile *)file;
    return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void g_shm_barrier(sqlite3_file *file) {
    GatheringFile *f = (GatheringFile *)file;
    if (f->wal != NULL) {
        /* New frames are about to be published: they must be in the file first. The commit
           rule has written them already; an error here cannot be reported, only not hidden
           from the next call on the WAL, which fails the same way. */
        (void)flush(f->wal);
    }
    f->real->pMethods->xShmBarrier(f->real);
}

static int g_shm_unmap(sqlite3_file *file, int delete_flag) {
    GatheringFile *f = (GatheringFile *)file;
    return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

static int g_fetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out) {
    GatheringFile *f = (GatheringFile *)file;
    if (f->real->pMethods->iVersion < 3) {
        *out = NULL;
        return SQLITE_OK;
    }
    return f->real->pMethods->xFetch(f->real, offset, amount, out);
}

static int g_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *page) {
    GatheringFile *f = (GatheringFile *)file;
    if (f->real->pMethods->iVersion < 3) {
        return SQLITE_OK;
    }
    return f->real->pMethods->xUnfetch(f->real, offset, page);
}

static const sqlite3_io_methods gathering_methods = {
    3,
    g_close,
    g_read,
    g_write,
    g_truncate,
    g_sync,
    g_file_size,
    g_lock,
    g_unlock,
    g_check_reserved_lock,
    g_file_control,
    g_sector_size,
    g_device_characteristics,
    g_shm_map,
    g_shm_lock,
    g_shm_barrier,
    g_shm_unmap,
    g_fetch,
    g_unfetch,
};

/* ------------------------------------------------------------------ vfs */

static int g_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags,
                  int *out_flags) {
    (void)vfs;
    GatheringFile *f = (GatheringFile *)file;
    memset(f, 0, sizeof(*f));
    f->real = (sqlite3_file *)&f[1];
    int rc = wrapped->xOpen(wrapped, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        /* SQLite closes a file whose open failed when its pMethods is set: forward that. */
        f->base.pMethods = f->real->pMethods != NULL ? &gathering_methods : NULL;
        return rc;
    }
    f->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
    if (f->is_wal && name != NULL) {
        sqlite3_file *main_db = sqlite3_database_file_object(name);
        if (main_db != NULL && main_db->pMethods == &gathering_methods) {
            f->db = (GatheringFile *)main_db;
            f->db->wal = f;
        }
    }
    f->base.pMethods = &gathering_methods;
    return SQLITE_OK;
}

static int g_delete(sqlite3_vfs *vfs, const char *name, int sync_dir) {
    (void)vfs;
    return wrapped->xDelete(wrapped, name, sync_dir);
}

static int g_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
    (void)vfs;
    return wrapped->xAccess(wrapped, name, flags, out);
}

static int g_full_pathname(sqlite3_vfs *vfs, const char *name, int size, char *out) {
    (void)vfs;
    return wrapped->xFullPathname(wrapped, name, size, out);
}

static void *g_dl_open(sqlite3_vfs *vfs, const char *name) {
    (void)vfs;
    return wrapped->xDlOpen(wrapped, name);
}

static void g_dl_error(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    wrapped->xDlError(wrapped, size, out);
}

static void (*g_dl_sym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void) {
    (void)vfs;
    return wrapped->xDlSym(wrapped, handle, symbol);
}

static void g_dl_close(sqlite3_vfs *vfs, void *handle) {
    (void)vfs;
    wrapped->xDlClose(wrapped, handle);
}

static int g_randomness(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return wrapped->xRandomness(wrapped, size, out);
}

static int g_sleep(sqlite3_vfs *vfs, int microseconds) {
    (void)vfs;
    return wrapped->xSleep(wrapped, microseconds);
}

static int g_current_time(sqlite3_vfs *vfs, double *out) {
    (void)vfs;
    return wrapped->xCurrentTime(wrapped, out);
}

static int g_get_last_error(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return wrapped->xGetLastError ? wrapped->xGetLastError(wrapped, size, out) : 0;
}

static int g_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
    (void)vfs;
    return wrapped->xCurrentTimeInt64(wrapped, out);
}

/* ------------------------------------------------------------------ python module */

static PyObject *register_vfs(PyObject *module, PyObject *unused) {
    (void)module;
    (void)unused;
    if (wrapped == NULL) {
        sqlite3_vfs *found = sqlite3_vfs_find(NULL);
        if (found == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "SQLite has no default VFS to wrap");
            return NULL;
        }
        if (found->iVersion < 2 || found->xCurrentTimeInt64 == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "SQLite's default VFS is too old to wrap");
            return NULL;
        }
        memset(&gathering_vfs, 0, sizeof(gathering_vfs));
        gathering_vfs.iVersion = 2;
        gathering_vfs.szOsFile = (int)sizeof(GatheringFile) + found->szOsFile;
        gathering_vfs.mxPathname = found->mxPathname;
        gathering_vfs.zName = VFS_NAME;
        gathering_vfs.xOpen = g_open;
        gathering_vfs.xDelete = g_delete;
        gathering_vfs.xAccess = g_access;
        gathering_vfs.xFullPathname = g_full_pathname;
        gathering_vfs.xDlOpen = g_dl_open;
        gathering_vfs.xDlError = g_dl_error;
        gathering_vfs.xDlSym = g_dl_sym;
        gathering_vfs.xDlClose = g_dl_close;
        gathering_vfs.xRandomness = g_randomness;
        gathering_vfs.xSleep = g_sleep;
        gathering_vfs.xCurrentTime = g_current_time;
        gathering_vfs.xGetLastError = g_get_last_error;
        gathering_vfs.xCurrentTimeInt64 = g_current_time_int64;
        wrapped = found;
        int rc = sqlite3_vfs_register(&gathering_vfs, 0);
        if (rc != SQLITE_OK) {
            wrapped = NULL;
            PyErr_Format(PyExc_RuntimeError, "sqlite3_vfs_register failed (%d)", rc);
            return NULL;
        }
    }
    return PyUnicode_FromString(VFS_NAME);
}

static PyObject *counters(PyObject *module, PyObject *unused) {
    (void)module;
    (void)unused;
    return Py_BuildValue("(KK)", __atomic_load_n(&wal_writes_asked, __ATOMIC_RELAXED),
                         __atomic_load_n(&wal_writes_made, __ATOMIC_RELAXED));
}

static PyMethodDef methods[] = {
    {"counters", counters, METH_NOARGS,
     "(WAL writes SQLite asked for, writes made to the file) in this process so far."},
    {"register", register_vfs, METH_NOARGS,
     "Register the VFS (once per process) and return its name, for a file: URI's vfs=."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "storage._wal_gather", NULL, -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__wal_gather(void) { return PyModule_Create(&module_def); }
