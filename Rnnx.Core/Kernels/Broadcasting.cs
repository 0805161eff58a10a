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
/// one side is broadcast along it). Shapes are passed as <see cref="Shape"/> values and must already be compatible.
/// </summary>
public static class Broadcasting
{
    /// <summary>Strides of <paramref name="shape"/> aligned to <paramref name="target"/>'s rank, 0 on broadcast axes.</summary>
    private static void Strides(in Shape shape, in Shape target, Span<int> strides)
    {
        int rank = target.Rank, off = rank - shape.Rank;
        int s = 1;
        for (int i = rank - 1; i >= 0; i--)
        {
            int dim = i < off ? 1 : shape[i - off];
            strides[i] = dim == 1 && target[i] != 1 ? 0 : s;
            if (dim != 1 || target[i] == 1) s *= dim;
        }
    }

    /// <summary>dst (shape <paramref name="outShape"/>) = a (op) b, with a and b broadcast to <paramref name="outShape"/>.</summary>
    public static void Binary<T>(BinaryKind kind, ReadOnlySpan<T> a, in Shape aShape, ReadOnlySpan<T> b, in Shape bShape, Span<T> dst, in Shape outShape)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (aShape == outShape && bShape == outShape) { Row(kind, a, 1, b, 1, dst); return; }
        if (bShape.Size == 1 && aShape == outShape) { Row(kind, a, 1, b, 0, dst); return; }
        if (aShape.Size == 1 && bShape == outShape) { Row(kind, a, 0, b, 1, dst); return; }
        int rank = outShape.Rank;
        Span<int> sa = stackalloc int[Shape.MaxRank], sb = stackalloc int[Shape.MaxRank], idx = stackalloc int[Shape.MaxRank];
        Strides(aShape, outShape, sa);
        Strides(bShape, outShape, sb);
        idx.Clear();
        int inner = outShape[rank - 1], outer = outShape.Size / inner;
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
    public static void SumTo<T>(ReadOnlySpan<T> g, in Shape gShape, Span<T> dst, in Shape dstShape)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int rank = gShape.Rank;
        if (rank == 0 || dstShape.Size == gShape.Size) { TP.Add(dst, g, dst); return; }
        if (dstShape.Size == 1) { dst[0] += TP.Sum(g); return; }
        Span<int> sd = stackalloc int[Shape.MaxRank], idx = stackalloc int[Shape.MaxRank];
        Strides(dstShape, gShape, sd);
        idx.Clear();
        int inner = gShape[rank - 1], outer = gShape.Size / inner, id = sd[rank - 1];
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
    public static void BroadcastAdd<T>(ReadOnlySpan<T> src, in Shape srcShape, Span<T> dst, in Shape dstShape)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int rank = dstShape.Rank;
        if (rank == 0 || srcShape.Size == dstShape.Size) { TP.Add(dst, src, dst); return; }
        if (srcShape.Size == 1) { TP.Add(dst, src[0], dst); return; }
        Span<int> ss = stackalloc int[Shape.MaxRank], idx = stackalloc int[Shape.MaxRank];
        Strides(srcShape, dstShape, ss);
        idx.Clear();
        int inner = dstShape[rank - 1], outer = dstShape.Size / inner, isr = ss[rank - 1];
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
