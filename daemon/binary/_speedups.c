/*
 * Optional compiled fast path for daemon.binary.decoder: bytes -> Node for well-formed input.
 *
 * It decodes exactly what the pure-Python reader decodes, into the same objects, and gives up on
 * anything it does not like: any malformation (or anything unusual) makes decode() return None and
 * the caller re-reads the payload in Python, which raises the precise DecodeError. Error paths are
 * rare and never hot, so keeping them in one place (Python) is worth more than speed there.
 *
 * JIDs go through the decoder's memo dict (keyed by their encoded bytes, shared with the Python
 * path); on a miss the Python reader builds and validates the JID, so JID rules live in one place.
 * Nodes are built as the Python path builds them: allocated, then their three slots set through the
 * slot descriptors (the frozen dataclass __init__ is bypassed on purpose, as in decoder.py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

enum {
    LIST_EMPTY = 0,
    DICTIONARY_0 = 236,
    DICTIONARY_3 = 239,
    INTEROP_JID = 245,
    FB_JID = 246,
    AD_JID = 247,
    LIST_8 = 248,
    LIST_16 = 249,
    JID_PAIR = 250,
    HEX_8 = 251,
    BINARY_8 = 252,
    BINARY_20 = 253,
    BINARY_32 = 254,
    NIBBLE_8 = 255,
};

typedef struct {
    PyObject *single;      /* tuple[str, ...]: single-byte tokens */
    PyObject *dbl;         /* tuple[tuple[str, ...], ...]: the four double-byte dictionaries */
    PyTypeObject *node_type;
    PyObject *set_tag;     /* slot descriptors of Node */
    PyObject *set_attrs;
    PyObject *set_content;
    PyObject *jid_memo;    /* dict[bytes, JID] */
    PyObject *read_jid;    /* (data, pos, tag) -> (JID, end): the Python reader, on a memo miss */
    PyObject *empty;       /* "" */
    Py_ssize_t single_end;
    int max_depth;
    int configured;
} State;

static State S;

/* A failed read: no Python exception is set unless a real error (MemoryError...) happened. */
#define GIVE_UP ((PyObject *)NULL)

typedef struct {
    PyObject *data; /* the bytes object, for slicing and for the Python JID reader */
    const unsigned char *p;
    Py_ssize_t n;
} Input;

static PyObject *read_node(Input *in, Py_ssize_t *pos, int depth);

static int is_jid_tag(int tag) {
    return tag == JID_PAIR || tag == AD_JID || tag == FB_JID || tag == INTEROP_JID;
}

static int is_binary_tag(int tag) {
    return tag == BINARY_8 || tag == BINARY_20 || tag == BINARY_32;
}

/* Length-prefixed bytes after a BINARY_* tag byte; sets *start and *end, 0 on success. */
static int binary_span(Input *in, Py_ssize_t pos, int tag, Py_ssize_t *start, Py_ssize_t *end) {
    Py_ssize_t length;
    if (tag == BINARY_8) {
        if (pos + 1 > in->n) return -1;
        length = in->p[pos];
        pos += 1;
    } else if (tag == BINARY_20) {
        if (pos + 3 > in->n) return -1;
        length = ((Py_ssize_t)(in->p[pos] & 0x0F) << 16) | (in->p[pos + 1] << 8) | in->p[pos + 2];
        pos += 3;
    } else {
        if (pos + 4 > in->n) return -1;
        length = ((Py_ssize_t)in->p[pos] << 24) | ((Py_ssize_t)in->p[pos + 1] << 16) |
                 (in->p[pos + 2] << 8) | in->p[pos + 3];
        pos += 4;
    }
    if (pos + length > in->n) return -1;
    *start = pos;
    *end = pos + length;
    return 0;
}

static PyObject *unpack(Input *in, Py_ssize_t pos, int tag, Py_ssize_t *out) {
    if (pos >= in->n) return GIVE_UP;
    unsigned char head = in->p[pos];
    Py_ssize_t size = head & 0x7F;
    int odd = head > 0x7F;
    if (head == 0x80 || pos + 1 + size > in->n) return GIVE_UP;
    Py_ssize_t length = size * 2 - odd;
    char buffer[256];
    const unsigned char *body = in->p + pos + 1;
    static const char hex[] = "0123456789ABCDEF";
    static const char nibble[] = "0123456789-.";
    for (Py_ssize_t i = 0; i < length; i++) {
        unsigned char b = body[i >> 1];
        unsigned char v = (i & 1) ? (b & 0x0F) : (b >> 4);
        if (tag == HEX_8) {
            buffer[i] = hex[v];
        } else {
            if (v > 11) return GIVE_UP;
            buffer[i] = nibble[v];
        }
    }
    *out = pos + 1 + size;
    return PyUnicode_DecodeASCII(buffer, length, NULL);
}

/* A plain string (tags, keys, values): token, packed, raw UTF-8 or empty. */
static PyObject *read_text(Input *in, Py_ssize_t pos, int tag, Py_ssize_t *out) {
    if (tag > 0 && tag < S.single_end) {
        *out = pos;
        PyObject *token = PyTuple_GET_ITEM(S.single, tag);
        Py_INCREF(token);
        return token;
    }
    if (tag == NIBBLE_8 || tag == HEX_8) return unpack(in, pos, tag, out);
    if (is_binary_tag(tag)) {
        Py_ssize_t start, end;
        if (binary_span(in, pos, tag, &start, &end) < 0) return GIVE_UP;
        *out = end;
        return PyUnicode_DecodeUTF8((const char *)in->p + start, end - start, "surrogateescape");
    }
    if (tag >= DICTIONARY_0 && tag <= DICTIONARY_3) {
        if (pos >= in->n) return GIVE_UP;
        PyObject *table = PyTuple_GET_ITEM(S.dbl, tag - DICTIONARY_0);
        Py_ssize_t index = in->p[pos];
        if (index >= PyTuple_GET_SIZE(table)) return GIVE_UP;
        *out = pos + 1;
        PyObject *token = PyTuple_GET_ITEM(table, index);
        Py_INCREF(token);
        return token;
    }
    if (tag == LIST_EMPTY) {
        *out = pos;
        Py_INCREF(S.empty);
        return S.empty;
    }
    return GIVE_UP;
}

/* Where the string starting at pos ends, without decoding it; -1 when it cannot be a string. */
static Py_ssize_t text_end(Input *in, Py_ssize_t pos) {
    if (pos >= in->n) return -1;
    int tag = in->p[pos];
    if (tag < DICTIONARY_0) return pos + 1;
    if (tag <= DICTIONARY_3) return pos + 2;
    if (tag == NIBBLE_8 || tag == HEX_8) {
        if (pos + 1 >= in->n) return -1;
        return pos + 2 + (in->p[pos + 1] & 0x7F);
    }
    if (is_binary_tag(tag)) {
        Py_ssize_t start, end;
        if (binary_span(in, pos + 1, tag, &start, &end) < 0) return -1;
        return end;
    }
    return -1;
}

/* A JID-encoded value after its tag byte: from the memo, else from the Python reader. */
static PyObject *read_jid(Input *in, Py_ssize_t pos, int tag, Py_ssize_t *out) {
    Py_ssize_t end;
    if (tag == JID_PAIR) {
        end = text_end(in, pos);
        end = end < 0 ? -1 : text_end(in, end);
    } else if (tag == AD_JID) {
        end = text_end(in, pos + 2);
    } else if (tag == FB_JID) {
        end = text_end(in, pos);
        end = end < 0 ? -1 : text_end(in, end + 2);
    } else {
        end = text_end(in, pos);
        end = end < 0 ? -1 : text_end(in, end + 4);
    }
    if (end < 0 || end > in->n) return GIVE_UP;
    PyObject *key = PyBytes_FromStringAndSize((const char *)in->p + pos - 1, end - pos + 1);
    if (key == NULL) return NULL;
    PyObject *jid = PyDict_GetItemWithError(S.jid_memo, key);
    Py_DECREF(key);
    if (jid != NULL) {
        Py_INCREF(jid);
        *out = end;
        return jid;
    }
    if (PyErr_Occurred()) return NULL;
    /* A miss: the Python reader validates, builds and memoises it (and raises on bad input,
     * which we turn into a fallback). */
    PyObject *result = PyObject_CallFunction(S.read_jid, "Oni", in->data, pos, tag);
    if (result == NULL) {
        PyErr_Clear();
        return GIVE_UP;
    }
    if (!PyTuple_Check(result) || PyTuple_GET_SIZE(result) != 2) {
        Py_DECREF(result);
        return GIVE_UP;
    }
    jid = PyTuple_GET_ITEM(result, 0);
    Py_ssize_t after = PyLong_AsSsize_t(PyTuple_GET_ITEM(result, 1));
    Py_INCREF(jid);
    Py_DECREF(result);
    if (after < 0) {
        PyErr_Clear();
        Py_DECREF(jid);
        return GIVE_UP;
    }
    *out = after;
    return jid;
}

static PyObject *jid_text(Input *in, Py_ssize_t pos, int tag, Py_ssize_t *out) {
    PyObject *jid = read_jid(in, pos, tag, out);
    if (jid == NULL) return NULL;
    PyObject *text = PyObject_Str(jid);
    Py_DECREF(jid);
    return text;
}

/* A tag or attribute key at pos (tag byte included). */
static PyObject *read_name(Input *in, Py_ssize_t *pos) {
    if (*pos >= in->n) return GIVE_UP;
    int byte = in->p[*pos];
    if (byte > 0 && byte < S.single_end) {
        *pos += 1;
        PyObject *token = PyTuple_GET_ITEM(S.single, byte);
        Py_INCREF(token);
        return token;
    }
    if (is_jid_tag(byte)) return jid_text(in, *pos + 1, byte, pos);
    return read_text(in, *pos + 1, byte, pos);
}

static PyObject *make_node(PyObject *tag, PyObject *attrs, PyObject *content) {
    PyObject *node = S.node_type->tp_alloc(S.node_type, 0);
    if (node == NULL) return NULL;
    if (Py_TYPE(S.set_tag)->tp_descr_set(S.set_tag, node, tag) < 0 ||
        Py_TYPE(S.set_attrs)->tp_descr_set(S.set_attrs, node, attrs) < 0 ||
        Py_TYPE(S.set_content)->tp_descr_set(S.set_content, node, content) < 0) {
        Py_DECREF(node);
        return NULL;
    }
    return node;
}

static PyObject *read_content(Input *in, Py_ssize_t *pos, int depth) {
    if (*pos >= in->n) return GIVE_UP;
    int byte = in->p[*pos];
    *pos += 1;
    if (byte == LIST_EMPTY || byte == LIST_8 || byte == LIST_16) {
        Py_ssize_t count = 0;
        if (byte == LIST_8) {
            if (*pos + 1 > in->n) return GIVE_UP;
            count = in->p[*pos];
            *pos += 1;
        } else if (byte == LIST_16) {
            if (*pos + 2 > in->n) return GIVE_UP;
            count = (in->p[*pos] << 8) | in->p[*pos + 1];
            *pos += 2;
        }
        if (count && depth >= S.max_depth) return GIVE_UP;
        PyObject *children = PyList_New(count);
        if (children == NULL) return NULL;
        for (Py_ssize_t i = 0; i < count; i++) {
            PyObject *child = read_node(in, pos, depth + 1);
            if (child == NULL) {
                Py_DECREF(children);
                return NULL;
            }
            PyList_SET_ITEM(children, i, child);
        }
        return children;
    }
    if (is_binary_tag(byte)) {
        Py_ssize_t start, end;
        if (binary_span(in, *pos, byte, &start, &end) < 0) return GIVE_UP;
        *pos = end;
        return PyBytes_FromStringAndSize((const char *)in->p + start, end - start);
    }
    if (is_jid_tag(byte)) return jid_text(in, *pos, byte, pos);
    return read_text(in, *pos, byte, pos);
}

static PyObject *read_node(Input *in, Py_ssize_t *pos, int depth) {
    Py_ssize_t at = *pos, size;
    if (at >= in->n) return GIVE_UP;
    int header = in->p[at];
    if (header == LIST_8) {
        if (at + 2 > in->n) return GIVE_UP;
        size = in->p[at + 1];
        at += 2;
    } else if (header == LIST_16) {
        if (at + 3 > in->n) return GIVE_UP;
        size = (in->p[at + 1] << 8) | in->p[at + 2];
        at += 3;
    } else {
        return GIVE_UP;
    }
    if (size == 0) return GIVE_UP;

    PyObject *tag = read_name(in, &at);
    if (tag == NULL) return NULL;
    if (PyUnicode_GET_LENGTH(tag) == 0) {
        Py_DECREF(tag);
        return GIVE_UP;
    }
    PyObject *attrs = PyDict_New();
    PyObject *content = NULL, *node = NULL;
    if (attrs == NULL) goto done;
    for (Py_ssize_t i = 0; i < (size - 1) >> 1; i++) {
        PyObject *key = read_name(in, &at);
        if (key == NULL) goto done;
        PyObject *value;
        if (at >= in->n) {
            Py_DECREF(key);
            goto done;
        }
        int byte = in->p[at];
        if (byte > 0 && byte < S.single_end) {
            value = PyTuple_GET_ITEM(S.single, byte);
            Py_INCREF(value);
            at += 1;
        } else if (is_jid_tag(byte)) {
            value = read_jid(in, at + 1, byte, &at);
        } else {
            value = read_text(in, at + 1, byte, &at);
        }
        if (value == NULL) {
            Py_DECREF(key);
            goto done;
        }
        int failed = PyDict_SetItem(attrs, key, value);
        Py_DECREF(key);
        Py_DECREF(value);
        if (failed) goto done;
    }
    if (size & 1) {
        content = Py_None;
        Py_INCREF(content);
    } else {
        content = read_content(in, &at, depth);
        if (content == NULL) goto done;
    }
    node = make_node(tag, attrs, content);
    if (node != NULL) *pos = at;
done:
    Py_DECREF(tag);
    Py_XDECREF(attrs);
    Py_XDECREF(content);
    return node;
}

static PyObject *configure(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"single", "double", "node_type", "jid_memo", "read_jid",
                            "max_depth", NULL};
    PyObject *single, *dbl, *node_type, *memo, *reader;
    int max_depth;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O!O!Oi", names, &PyTuple_Type, &single,
                                     &PyTuple_Type, &dbl, &PyType_Type, &node_type, &PyDict_Type,
                                     &memo, &reader, &max_depth))
        return NULL;
    if (PyTuple_GET_SIZE(dbl) != 4) {
        PyErr_SetString(PyExc_ValueError, "four double-byte dictionaries are required");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < 4; i++) {
        if (!PyTuple_Check(PyTuple_GET_ITEM(dbl, i))) {
            PyErr_SetString(PyExc_TypeError, "each dictionary must be a tuple");
            return NULL;
        }
    }
    PyObject *tag = PyObject_GetAttrString(node_type, "tag");
    PyObject *attrs = PyObject_GetAttrString(node_type, "attrs");
    PyObject *content = PyObject_GetAttrString(node_type, "content");
    PyObject *empty = PyUnicode_FromString("");
    if (!tag || !attrs || !content || !empty) goto fail;
    if (!Py_TYPE(tag)->tp_descr_set || !Py_TYPE(attrs)->tp_descr_set ||
        !Py_TYPE(content)->tp_descr_set) {
        PyErr_SetString(PyExc_TypeError, "node type must have tag/attrs/content slots");
        goto fail;
    }
    Py_INCREF(single);
    Py_INCREF(dbl);
    Py_INCREF(node_type);
    Py_INCREF(memo);
    Py_INCREF(reader);
    Py_XSETREF(S.single, single);
    Py_XSETREF(S.dbl, dbl);
    Py_XSETREF(S.node_type, (PyTypeObject *)node_type);
    Py_XSETREF(S.jid_memo, memo);
    Py_XSETREF(S.read_jid, reader);
    Py_XSETREF(S.set_tag, tag);
    Py_XSETREF(S.set_attrs, attrs);
    Py_XSETREF(S.set_content, content);
    Py_XSETREF(S.empty, empty);
    S.single_end = PyTuple_GET_SIZE(single);
    S.max_depth = max_depth;
    S.configured = 1;
    Py_RETURN_NONE;
fail:
    Py_XDECREF(tag);
    Py_XDECREF(attrs);
    Py_XDECREF(content);
    Py_XDECREF(empty);
    return NULL;
}

/* decode(payload: bytes, start: int) -> (Node, end) | None */
static PyObject *decode(PyObject *self, PyObject *args) {
    PyObject *data;
    Py_ssize_t start;
    if (!PyArg_ParseTuple(args, "O!n", &PyBytes_Type, &data, &start)) return NULL;
    if (!S.configured) {
        PyErr_SetString(PyExc_RuntimeError, "configure() was not called");
        return NULL;
    }
    Input in = {data, (const unsigned char *)PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data)};
    Py_ssize_t pos = start;
    PyObject *node = read_node(&in, &pos, 0);
    if (node == NULL) {
        if (PyErr_Occurred()) {
            if (PyErr_ExceptionMatches(PyExc_MemoryError)) return NULL;
            PyErr_Clear();
        }
        Py_RETURN_NONE;
    }
    return Py_BuildValue("(Nn)", node, pos);
}

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "Give the decoder its token tables, Node type, JID memo and Python JID reader."},
    {"decode", decode, METH_VARARGS,
     "decode(payload, start) -> (Node, end), or None when the Python reader must decide."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "daemon.binary._speedups",
    "Compiled fast path of the binary node decoder (optional).", -1, methods,
};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
