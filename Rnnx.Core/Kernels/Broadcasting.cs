using System.Numerics;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Rnnx.Kernels;

/// <summary>The four broadcasting binary element-wise operations.</summary>
public enum BinaryKind
{
    /// <summary>a + b</summary>
    Add,
    /// <summary>a - b</summary>
    Subtract,
    /// <summary>a * b</summary>
    Multiply,
    /// <summary>a / b</summary>
    Divide,
}

/// <summary>
/// Numpy-style broadcasting over row-major buffers. The outer dimensions are walked with an odometer and the
/// innermost dimension is handed to a vectorized <see cref="TP"/> call (as a row, or a row and a scalar when
/// one side is broadcast along it). Shapes are passed as dimension spans (row-major, rank = length, a scalar is empty) and
/// must already be compatible; rank at most 8.
/// </summary>
public static class Broadcasting
{
    private const int MaxRank = 8;

    private static int Size(ReadOnlySpan<int> dims)
    {
        int n = 1;
        foreach (int d in dims) n *= d;
        return n;
    }

    /// <summary>Strides of <paramref name="shape"/> aligned to <paramref name="target"/>'s rank, 0 on broadcast axes.</summary>
    private static void Strides(ReadOnlySpan<int> shape, ReadOnlySpan<int> target, Span<int> strides)
    {
        int rank = target.Length, off = rank - shape.Length;
        int s = 1;
        for (int i = rank - 1; i >= 0; i--)
        {
            int dim = i < off ? 1 : shape[i - off];
            strides[i] = dim == 1 && target[i] != 1 ? 0 : s;
            if (dim != 1 || target[i] == 1) s *= dim;
        }
    }

    /// <summary>dst (shape <paramref name="outShape"/>) = a (op) b, with a and b broadcast to <paramref name="outShape"/>.</summary>
    public static void Binary<T>(BinaryKind kind, ReadOnlySpan<T> a, ReadOnlySpan<int> aShape, ReadOnlySpan<T> b, ReadOnlySpan<int> bShape, Span<T> dst, ReadOnlySpan<int> outShape)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (aShape.SequenceEqual(outShape) && bShape.SequenceEqual(outShape)) { Row(kind, a, 1, b, 1, dst); return; }
        if (Size(bShape) == 1 && aShape.SequenceEqual(outShape)) { Row(kind, a, 1, b, 0, dst); return; }
        if (Size(aShape) == 1 && bShape.SequenceEqual(outShape)) { Row(kind, a, 0, b, 1, dst); return; }
        int rank = outShape.Length;
        Span<int> sa = stackalloc int[MaxRank], sb = stackalloc int[MaxRank], idx = stackalloc int[MaxRank];
        Strides(aShape, outShape, sa);
        Strides(bShape, outShape, sb);
        idx.Clear();
        int inner = outShape[rank - 1], outer = Size(outShape) / inner;
        int ia = sa[rank - 1], ib = sb[rank - 1];
        int offA = 0, offB = 0;
        for (int o = 0; o < outer; o++)
        {
            Row(kind, a[offA..], ia, b[offB..], ib, dst.Slice(o * inner, inner));
            for (int d = rank - 2; d >= 0; d--)
            {
                idx[d]++; offA += sa[d]; offB += sb[d];
                if (idx[d] < outShape[d]) break;
                offA -= sa[d] * idx[d]; offB -= sb[d] * idx[d]; idx[d] = 0;
            }
        }
    }

    private static void Row<T>(BinaryKind kind, ReadOnlySpan<T> a, int sa, ReadOnlySpan<T> b, int sb, Span<T> dst)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int n = dst.Length;
        if (sa != 0 && sb != 0)
        {
            a = a[..n]; b = b[..n];
            switch (kind)
            {
                case BinaryKind.Add: TP.Add(a, b, dst); break;
                case BinaryKind.Subtract: TP.Subtract(a, b, dst); break;
                case BinaryKind.Multiply: TP.Multiply(a, b, dst); break;
                default: TP.Divide(a, b, dst); break;
            }
        }
        else if (sb == 0 && sa != 0)
        {
            a = a[..n]; T s = b[0];
            switch (kind)
            {
                case BinaryKind.Add: TP.Add(a, s, dst); break;
                case BinaryKind.Subtract: TP.Subtract(a, s, dst); break;
                case BinaryKind.Multiply: TP.Multiply(a, s, dst); break;
                default: TP.Divide(a, s, dst); break;
            }
        }
        else if (sa == 0 && sb != 0)
        {
            b = b[..n]; T s = a[0];
            switch (kind)
            {
                case BinaryKind.Add: TP.Add(b, s, dst); break;
                case BinaryKind.Subtract: TP.Subtract(s, b, dst); break;
                case BinaryKind.Multiply: TP.Multiply(b, s, dst); break;
                default: TP.Divide(s, b, dst); break;
            }
        }
        else
        {
            T x = a[0], y = b[0];
            T r = kind switch
            {
                BinaryKind.Add => x + y,
                BinaryKind.Subtract => x - y,
                BinaryKind.Multiply => x * y,
                _ => x / y,
            };
            dst.Fill(r);
        }
    }

    /// <summary>
    /// dst (shape <paramref name="dstShape"/>) += g summed over the axes along which <paramref name="dstShape"/> is broadcast
    /// to <paramref name="gShape"/> (the reverse of broadcasting; also the forward of a sum with kept dimensions).
    /// </summary>
    public static void SumTo<T>(ReadOnlySpan<T> g, ReadOnlySpan<int> gShape, Span<T> dst, ReadOnlySpan<int> dstShape)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int rank = gShape.Length;
        if (rank == 0 || Size(dstShape) == Size(gShape)) { TP.Add(dst, g, dst); return; }
        if (Size(dstShape) == 1) { dst[0] += TP.Sum(g); return; }
        Span<int> sd = stackalloc int[MaxRank], idx = stackalloc int[MaxRank];
        Strides(dstShape, gShape, sd);
        idx.Clear();
        int inner = gShape[rank - 1], outer = Size(gShape) / inner, id = sd[rank - 1];
        int off = 0;
        for (int o = 0; o < outer; o++)
        {
            var row = g.Slice(o * inner, inner);
            if (id != 0) { var d = dst.Slice(off, inner); TP.Add(d, row, d); }
            else dst[off] += TP.Sum(row);
            for (int d = rank - 2; d >= 0; d--)
            {
                idx[d]++; off += sd[d];
                if (idx[d] < gShape[d]) break;
                off -= sd[d] * idx[d]; idx[d] = 0;
            }
        }
    }

    /// <summary>dst (shape <paramref name="dstShape"/>) += src broadcast from <paramref name="srcShape"/>.</summary>
    public static void BroadcastAdd<T>(ReadOnlySpan<T> src, ReadOnlySpan<int> srcShape, Span<T> dst, ReadOnlySpan<int> dstShape)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int rank = dstShape.Length;
        if (rank == 0 || Size(srcShape) == Size(dstShape)) { TP.Add(dst, src, dst); return; }
        if (Size(srcShape) == 1) { TP.Add(dst, src[0], dst); return; }
        Span<int> ss = stackalloc int[MaxRank], idx = stackalloc int[MaxRank];
        Strides(srcShape, dstShape, ss);
        idx.Clear();
        int inner = dstShape[rank - 1], outer = Size(dstShape) / inner, isr = ss[rank - 1];
        int off = 0;
        for (int o = 0; o < outer; o++)
        {
            var row = dst.Slice(o * inner, inner);
            if (isr != 0) TP.Add(row, src.Slice(off, inner), row);
            else TP.Add(row, src[off], row);
            for (int d = rank - 2; d >= 0; d--)
            {
                idx[d]++; off += ss[d];
                if (idx[d] < dstShape[d]) break;
                off -= ss[d] * idx[d]; idx[d] = 0;
            }
        }
    }
}
