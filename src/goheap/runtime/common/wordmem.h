/* goheap's native kernel: word and byte loads and stores of a memoryview, in place,
 * bit tests and sets of an int bitmap, and the trailing zeros of one (ctz64).
 *
 * What goheap.runtime.common.wordmem's functions compile to (python -m
 * goheap.build registers them with mypyc as primitives). The four on
 * memoryviews are each exactly the subscript they replace (bit, setbit and
 * ctz64, further down, the int expressions theirs):
 *
 *   GoheapMem_Load64(words, i)     words[i]        (format "Q")
 *   GoheapMem_Store64(words, i, v) words[i] = v
 *   GoheapMem_Load8(b, i)          b[i]            (format "B")
 *   GoheapMem_Store8(b, i, v)      b[i] = v
 *
 * The fast path reads or writes the item directly: a live, writable,
 * C-contiguous, one-dimensional memoryview of that format, an index in
 * [0, len) and a value that fits (a non-negative short int; below 256 for a
 * byte). Anything else takes the generic subscript (PyObject_GetItem /
 * PyObject_SetItem), which gives Python's own result or error.
 *
 * Ints are mypyc's tagged ints (CPyTagged): a short int n is n << 1, a long
 * one a tagged PyLong pointer. Loads return CPY_INT_TAG on error, stores -1.
 */
#ifndef GOHEAP_WORDMEM_H
#define GOHEAP_WORDMEM_H

#include <Python.h>
#include <CPy.h>
#include <stdint.h>

/* r, a new reference from a Python operation on ints, as a tagged int: the error
 * value (an exception set) when r is NULL or not an int. */
static CPyTagged GoheapMem_Tagged(PyObject *r) {
    if (r == NULL)
        return CPY_INT_TAG;
    if (unlikely(!PyLong_Check(r))) {
        CPy_TypeError("int", r);
        Py_DECREF(r);
        return CPY_INT_TAG;
    }
    return CPyTagged_StealFromObject(r);
}

/* op(a, b) as a new reference, or NULL with an exception set; a and b, new references,
 * are released either way (a NULL one, a failed conversion, makes the result NULL). */
static PyObject *GoheapMem_Apply(binaryfunc op, PyObject *a, PyObject *b) {
    PyObject *r = (a != NULL && b != NULL) ? op(a, b) : NULL;
    Py_XDECREF(a);
    Py_XDECREF(b);
    return r;
}

/* The view's buffer if the fast path may use it (itemsize 8: "Q", 1: "B"), else NULL. */
static inline Py_buffer *GoheapMem_View(PyObject *mv, Py_ssize_t itemsize) {
    if (unlikely(!PyMemoryView_Check(mv)))
        return NULL;
    PyMemoryViewObject *m = (PyMemoryViewObject *)mv;
    if (unlikely((m->flags & _Py_MEMORYVIEW_RELEASED) || !(m->flags & _Py_MEMORYVIEW_C)))
        return NULL;
    Py_buffer *view = &m->view;
    if (unlikely(view->itemsize != itemsize || view->ndim != 1 || view->readonly))
        return NULL;
    const char *f = view->format;
    if (unlikely(f == NULL || f[0] != (itemsize == 8 ? 'Q' : 'B') || f[1] != '\0'))
        return NULL;
    return view;
}

/* i as an index in [0, len) of view, or -1 (then the generic path decides). */
static inline Py_ssize_t GoheapMem_Index(Py_buffer *view, CPyTagged i) {
    if (unlikely(!CPyTagged_CheckShort(i)))
        return -1;
    Py_ssize_t idx = CPyTagged_ShortAsSsize_t(i);
    if (unlikely(idx < 0 || idx >= view->shape[0]))
        return -1;
    return idx;
}

static CPyTagged GoheapMem_LoadSlow(PyObject *mv, CPyTagged i) {
    PyObject *key = CPyTagged_AsObject(i);
    if (key == NULL)
        return CPY_INT_TAG;
    PyObject *r = PyObject_GetItem(mv, key);
    Py_DECREF(key);
    return GoheapMem_Tagged(r);
}

static int GoheapMem_StoreSlow(PyObject *mv, CPyTagged i, CPyTagged v) {
    PyObject *key = CPyTagged_AsObject(i);
    if (key == NULL)
        return -1;
    PyObject *val = CPyTagged_AsObject(v);
    if (val == NULL) {
        Py_DECREF(key);
        return -1;
    }
    int r = PyObject_SetItem(mv, key, val);
    Py_DECREF(key);
    Py_DECREF(val);
    return r < 0 ? -1 : 0;
}

static inline CPyTagged GoheapMem_Load64(PyObject *mv, CPyTagged i) {
    Py_buffer *view = GoheapMem_View(mv, 8);
    Py_ssize_t idx;
    if (unlikely(view == NULL || (idx = GoheapMem_Index(view, i)) < 0))
        return GoheapMem_LoadSlow(mv, i);
    uint64_t v = ((const uint64_t *)view->buf)[idx];
    if (likely(v < ((uint64_t)1 << (CPY_INT_BITS - 2))))
        return (CPyTagged)v << 1;
    PyObject *o = PyLong_FromUnsignedLongLong(v);
    if (o == NULL)
        return CPY_INT_TAG;
    return CPyTagged_StealFromObject(o);
}

static inline int GoheapMem_Store64(PyObject *mv, CPyTagged i, CPyTagged v) {
    Py_buffer *view = GoheapMem_View(mv, 8);
    Py_ssize_t idx;
    if (unlikely(view == NULL || (idx = GoheapMem_Index(view, i)) < 0 || !CPyTagged_CheckShort(v)
                 || CPyTagged_ShortAsSsize_t(v) < 0))
        return GoheapMem_StoreSlow(mv, i, v);
    ((uint64_t *)view->buf)[idx] = (uint64_t)CPyTagged_ShortAsSsize_t(v);
    return 0;
}

static inline CPyTagged GoheapMem_Load8(PyObject *mv, CPyTagged i) {
    Py_buffer *view = GoheapMem_View(mv, 1);
    Py_ssize_t idx;
    if (unlikely(view == NULL || (idx = GoheapMem_Index(view, i)) < 0))
        return GoheapMem_LoadSlow(mv, i);
    return (CPyTagged)((const unsigned char *)view->buf)[idx] << 1;
}

static inline int GoheapMem_Store8(PyObject *mv, CPyTagged i, CPyTagged v) {
    Py_buffer *view = GoheapMem_View(mv, 1);
    Py_ssize_t idx;
    if (unlikely(view == NULL || (idx = GoheapMem_Index(view, i)) < 0 || !CPyTagged_CheckShort(v)
                 || (size_t)CPyTagged_ShortAsSsize_t(v) > 255))
        return GoheapMem_StoreSlow(mv, i, v);
    ((unsigned char *)view->buf)[idx] = (unsigned char)CPyTagged_ShortAsSsize_t(v);
    return 0;
}

/* GoheapMem_Bit(x, i): (x >> i) & 1, for a non-negative int x (a span bitmap) and 0 <= i.
 * A short x is shifted in C; a long one (CPython 3.11's layout: PyLong_SHIFT-bit digits,
 * the sign in ob_size) is read digit by digit, without the new int the shift would make.
 * Anything else (negative x or i, an i that is not short, another int layout) is the
 * Python expression itself. */
static CPyTagged GoheapMem_BitSlow(CPyTagged x, CPyTagged i) {
    PyObject *s = GoheapMem_Apply(PyNumber_Rshift, CPyTagged_AsObject(x), CPyTagged_AsObject(i));
    return GoheapMem_Tagged(GoheapMem_Apply(PyNumber_And, s, PyLong_FromLong(1)));
}

static inline CPyTagged GoheapMem_Bit(CPyTagged x, CPyTagged i) {
    if (likely(CPyTagged_CheckShort(i))) {
        Py_ssize_t n = CPyTagged_ShortAsSsize_t(i);
        if (likely(n >= 0)) {
            if (CPyTagged_CheckShort(x)) {
                Py_ssize_t v = CPyTagged_ShortAsSsize_t(x);
                if (v >= 0)
                    return n >= 63 ? 0 : (CPyTagged)((((size_t)v) >> n) & 1) << 1;
            }
#if PY_VERSION_HEX < 0x030C0000
            else {
                PyLongObject *o = (PyLongObject *)CPyTagged_LongAsObject(x);
                Py_ssize_t size = Py_SIZE(o);
                if (size > 0) {
                    Py_ssize_t d = n / PyLong_SHIFT;
                    if (d >= size)
                        return 0;
                    return (CPyTagged)((o->ob_digit[d] >> (n % PyLong_SHIFT)) & 1) << 1;
                }
            }
#endif
        }
    }
    return GoheapMem_BitSlow(x, i);
}

/* GoheapMem_SetBit(x, i): x | (1 << i), for a non-negative int x (a span bitmap) and 0 <= i.
 * A short x with i < 62 stays a short int; a long one (CPython 3.11's layout, as in
 * GoheapMem_Bit) is copied once into a new int with the bit set, or returned itself when
 * the bit is set already -- where the expression would make 1 << i and then the or.
 * Anything else (negative x or i, an i that is not short, a short x with i >= 62,
 * another int layout) is the Python expression itself. */
static CPyTagged GoheapMem_SetBitSlow(CPyTagged x, CPyTagged i) {
    PyObject *b = GoheapMem_Apply(PyNumber_Lshift, PyLong_FromLong(1), CPyTagged_AsObject(i));
    return GoheapMem_Tagged(GoheapMem_Apply(PyNumber_Or, CPyTagged_AsObject(x), b));
}

static inline CPyTagged GoheapMem_SetBit(CPyTagged x, CPyTagged i) {
    if (likely(CPyTagged_CheckShort(i))) {
        Py_ssize_t n = CPyTagged_ShortAsSsize_t(i);
        if (likely(n >= 0)) {
            if (CPyTagged_CheckShort(x)) {
                Py_ssize_t v = CPyTagged_ShortAsSsize_t(x);
                if (v >= 0 && n < (Py_ssize_t)CPY_INT_BITS - 2)
                    return (CPyTagged)(((size_t)v) | ((size_t)1 << n)) << 1;
            }
#if PY_VERSION_HEX < 0x030C0000
            else {
                PyLongObject *o = (PyLongObject *)CPyTagged_LongAsObject(x);
                Py_ssize_t size = Py_SIZE(o);
                if (size > 0) {
                    Py_ssize_t d = n / PyLong_SHIFT;
                    digit mask = (digit)1 << (n % PyLong_SHIFT);
                    if (d < size && (o->ob_digit[d] & mask)) {
                        CPyTagged_INCREF(x);
                        return x;
                    }
                    Py_ssize_t nsize = d < size ? size : d + 1;
                    PyLongObject *r = _PyLong_New(nsize);
                    if (r == NULL)
                        return CPY_INT_TAG;
                    memcpy(r->ob_digit, o->ob_digit, size * sizeof(digit));
                    if (nsize > size)
                        memset(r->ob_digit + size, 0, (nsize - size) * sizeof(digit));
                    r->ob_digit[d] |= mask;
                    return CPyTagged_StealFromObject((PyObject *)r);
                }
            }
#endif
        }
    }
    return GoheapMem_SetBitSlow(x, i);
}

/* GoheapMem_Ctz64(x): sys.Ctz64 of an int bitmap, 64 for 0: the index of its lowest set
 * bit, where (x & -x).bit_length() - 1 makes new ints for a long x (an allocCache with
 * bit 62 or 63 set, every fresh span's). A positive short x takes the CPU's instruction;
 * a positive long one (CPython 3.11's layout, as in GoheapMem_Bit) is read digit by
 * digit. Anything else (a negative x, another int layout) is the Python expression. */
static CPyTagged GoheapMem_Ctz64Slow(CPyTagged x) {
    PyObject *o = CPyTagged_AsObject(x);  /* a new reference, released by Apply */
    PyObject *low = GoheapMem_Apply(PyNumber_And, o, o != NULL ? PyNumber_Negative(o) : NULL);
    if (low == NULL)
        return CPY_INT_TAG;
    PyObject *bits = PyObject_CallMethod(low, "bit_length", NULL);
    Py_DECREF(low);
    return GoheapMem_Tagged(GoheapMem_Apply(PyNumber_Subtract, bits, PyLong_FromLong(1)));
}

static inline CPyTagged GoheapMem_Ctz64(CPyTagged x) {
    if (likely(CPyTagged_CheckShort(x))) {
        Py_ssize_t v = CPyTagged_ShortAsSsize_t(x);
        if (v > 0)
            return (CPyTagged)__builtin_ctzll((unsigned long long)v) << 1;
        if (v == 0)
            return (CPyTagged)64 << 1;
    }
#if PY_VERSION_HEX < 0x030C0000
    else {
        PyLongObject *o = (PyLongObject *)CPyTagged_LongAsObject(x);
        Py_ssize_t size = Py_SIZE(o);
        for (Py_ssize_t d = 0; d < size; d++) {
            digit g = o->ob_digit[d];
            if (g != 0)
                return (CPyTagged)(d * PyLong_SHIFT + __builtin_ctz(g)) << 1;
        }
    }
#endif
    return GoheapMem_Ctz64Slow(x);
}

#endif /* GOHEAP_WORDMEM_H */
