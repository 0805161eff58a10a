using System.Numerics;
using Rnnx.Kernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// Reshape: a view sharing the input's buffer (no copy). Backward adds g to the input's gradient unchanged (or hands the
/// buffer over, <see cref="Tape.TryHandOffGradient{T}"/>).
/// </summary>
internal sealed class ReshapeOp : Op
{
    public static readonly ReshapeOp Instance = new();

    public override string Name => "Reshape";

    public static Tensor Apply(Tensor x, Shape shape)
    {
        var d = x.Data;
        if (shape.Size != d.Length)
            throw new ShapeMismatchException($"Reshape: cannot reshape {d.Shape} ({d.Length} elements) to {shape} ({shape.Size} elements).");
        // The view shares d's buffer, so it must be recycled together with it: a view of a tape-owned tensor is pooled
        // by that tape (even when made after the tape was deactivated), otherwise by the active tape, if any.
        var tape = d.Owner ?? Tape.Current;
        TensorData o;
        if (tape is null)
            o = new TensorData { DType = d.DType, Shape = shape, Length = d.Length, F = d.F, D = d.D, Offset = d.Offset };
        else o = tape.NewView(d, shape);
        var rec = Tape.Recorder(d);
        if (rec is not null)
        {
            ref var e = ref rec.Record(Instance, o);
            e.A = d;
        }
        return new Tensor(o);
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32)
        {
            if (!tape.TryHandOffGradient<float>(e.Out, e.A!)) tape.AccumulateGrad(e.A!, tape.GradOf<float>(e.Out), e.A!.Shape);
        }
        else if (!tape.TryHandOffGradient<double>(e.Out, e.A!)) tape.AccumulateGrad(e.A!, tape.GradOf<double>(e.Out), e.A!.Shape);
    }
}

/// <summary>Axis permutation (a copy). Backward permutes g by the inverse permutation.</summary>
internal sealed class TransposeOp : Op
{
    public static readonly TransposeOp Instance = new();

    public override string Name => "Transpose";

    public static Tensor Apply(Tensor x, ReadOnlySpan<int> perm)
    {
        var d = x.Data;
        int rank = d.Shape.Rank;
        Span<int> p = stackalloc int[Shape.MaxRank];
        if (perm.Length == 0)
        {
            if (rank < 2) throw new ShapeMismatchException($"Transpose: needs rank 2 or more to swap the last two axes, got {d.Shape}.");
            for (int i = 0; i < rank; i++) p[i] = i;
            (p[rank - 2], p[rank - 1]) = (rank - 1, rank - 2);
        }
        else
        {
            if (perm.Length != rank)
                throw new ShapeMismatchException($"Transpose: permutation of length {perm.Length} for a tensor of rank {rank} {d.Shape}.");
            int seen = 0;
            for (int i = 0; i < rank; i++)
            {
                int a = perm[i] < 0 ? perm[i] + rank : perm[i];
                if ((uint)a >= (uint)rank || (seen & (1 << a)) != 0)
                    throw new ArgumentException($"Transpose: [{string.Join(", ", perm.ToArray())}] is not a permutation of the axes of {d.Shape}.", nameof(perm));
                seen |= 1 << a;
                p[i] = a;
            }
        }
        Span<int> dims = stackalloc int[Shape.MaxRank];
        for (int i = 0; i < rank; i++) dims[i] = d.Shape[p[i]];
        var outShape = new Shape(dims[..rank]);
        var o = Tape.NewResult(outShape, d.DType);
        if (o.DType == DType.Float32) Permute(d.Span<float>(), d.Shape, p[..rank], o.Span<float>(), false);
        else Permute(d.Span<double>(), d.Shape, p[..rank], o.Span<double>(), false);
        var tape = Tape.Recorder(d);
        if (tape is not null)
        {
            ref var e = ref tape.Record(Instance, o);
            e.A = d;
            int code = 0;
            for (int i = 0; i < rank; i++) code |= p[i] << (4 * i);
            e.SetArgs(new PermuteArgs(code, rank));
        }
        return new Tensor(o);
    }

    /// <summary>dst[idx permuted] (+)= src: dst has dims src.dims[perm[i]].</summary>
    internal static void Permute<T>(ReadOnlySpan<T> src, in Shape srcShape, ReadOnlySpan<int> perm, Span<T> dst, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int rank = srcShape.Rank;
        Span<int> srcStride = stackalloc int[Shape.MaxRank], dstDims = stackalloc int[Shape.MaxRank], step = stackalloc int[Shape.MaxRank], idx = stackalloc int[Shape.MaxRank];
        int s = 1;
        for (int i = rank - 1; i >= 0; i--) { srcStride[i] = s; s *= srcShape[i]; }
        for (int i = 0; i < rank; i++) { dstDims[i] = srcShape[perm[i]]; step[i] = srcStride[perm[i]]; }
        idx.Clear();
        int off = 0, n = src.Length;
        for (int j = 0; j < n; j++)
        {
            dst[j] = accumulate ? dst[j] + src[off] : src[off];
            for (int d = rank - 1; d >= 0; d--)
            {
                idx[d]++; off += step[d];
                if (idx[d] < dstDims[d]) break;
                off -= step[d] * idx[d]; idx[d] = 0;
            }
        }
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    /// <summary>The permutation (4 bits per axis, axis i of the output is axis (Code >> 4i) &amp; 15 of the input) and the rank.</summary>
    private readonly record struct PermuteArgs(int Code, int Rank);

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var a = e.A!;
        if (!a.RequiresGrad) return;
        var (code, rank) = e.GetArgs<PermuteArgs>();
        Span<int> inv = stackalloc int[Shape.MaxRank];
        for (int i = 0; i < rank; i++) inv[(code >> (4 * i)) & 15] = i;
        Permute(tape.GradOf<T>(e.Out), e.Out.Shape, inv[..rank], tape.Grad<T>(a), accumulate: true);
    }
}

/// <summary>
/// x[..., start:stop:step, ...] along one axis (Python slice semantics, step &gt;= 1; a copy).
/// Backward scatters g back into the selected positions.
/// </summary>
internal sealed class SliceOp : Op
{
    public static readonly SliceOp Instance = new();

    public override string Name => "Slice";

    public static Tensor Apply(Tensor x, int axis, int? start, int? stop, int step)
    {
        var d = x.Data;
        int ax = d.Shape.NormalizeAxis(axis, "Slice");
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), $"Slice: step must be at least 1, got {step}.");
        int len = d.Shape[ax];
        int s = Clamp(start ?? 0, len), e = Clamp(stop ?? len, len);
        int count = e > s ? (e - s + step - 1) / step : 0;
        if (count == 0)
            throw new ArgumentException($"Slice: [{start}:{stop}:{step}] on axis {axis} of {d.Shape} selects nothing; empty tensors are not supported.");
        var outShape = d.Shape.With(ax, count);
        int outer = d.Shape.Product(0, ax), inner = d.Shape.Product(ax + 1, d.Shape.Rank);
        var o = Tape.NewResult(outShape, d.DType);
        if (o.DType == DType.Float32) Copy<float>(d.Span<float>(), o.Span<float>(), outer, len, inner, s, step, count, false);
        else Copy<double>(d.Span<double>(), o.Span<double>(), outer, len, inner, s, step, count, false);
        var tape = Tape.Recorder(d);
        if (tape is not null)
        {
            ref var en = ref tape.Record(Instance, o);
            en.A = d;
            en.SetArgs(new SliceArgs(outer, len, inner, s, step, count));
        }
        return new Tensor(o);
    }

    private static int Clamp(int i, int len)
    {
        if (i < 0) i += len;
        return Math.Clamp(i, 0, len);
    }

    /// <summary>Forward (scatter=false): dst = src[sel]; backward (scatter=true): src[sel] += dst.</summary>
    private static void Copy<T>(Span<T> big, Span<T> small, int outer, int len, int inner, int start, int step, int count, bool scatter)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < count; j++)
            {
                var b = big.Slice((o * len + start + j * step) * inner, inner);
                var s = small.Slice((o * count + j) * inner, inner);
                if (scatter) Elementwise.AddInPlace(b, s);
                else b.CopyTo(s);
            }
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (!e.A!.RequiresGrad) return;
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    /// <summary>The slice as (outer, axis length, inner) blocks: Count positions from Start every Step along the axis.</summary>
    private readonly record struct SliceArgs(int Outer, int Length, int Inner, int Start, int Step, int Count);

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var g = tape.Grad<T>(e.Out);
        var a = e.GetArgs<SliceArgs>();
        Copy(tape.Grad<T>(e.A!), g, a.Outer, a.Length, a.Inner, a.Start, a.Step, a.Count, scatter: true);
    }
}

/// <summary>
/// Concatenation along an axis (and stacking, which is concatenation of inputs viewed with a new axis of 1).
/// Inputs are the entry's extra inputs. Backward copies each input's block of g back.
/// </summary>
internal sealed class ConcatOp : Op
{
    public static readonly ConcatOp Instance = new();

    public override string Name => "Concat";

    /// <param name="inputs">The tensors.</param>
    /// <param name="axis">Axis of the output along which inputs are joined.</param>
    /// <param name="stack">When true, inputs all have the same shape and a new axis is inserted at <paramref name="axis"/>.</param>
    public static Tensor Apply(ReadOnlySpan<Tensor> inputs, int axis, bool stack)
    {
        string name = stack ? "Stack" : "Concat";
        if (inputs.Length == 0) throw new ArgumentException($"{name}: needs at least one tensor.", nameof(inputs));
        var first = inputs[0].Data;
        Shape outShape;
        int ax;
        if (stack)
        {
            if (axis < 0) axis += first.Shape.Rank + 1;
            if ((uint)axis > (uint)first.Shape.Rank)
                throw new ArgumentException($"Stack: axis {axis} is out of range for tensors of shape {first.Shape}.", nameof(axis));
            ax = axis;
            for (int i = 1; i < inputs.Length; i++)
            {
                var d = inputs[i].Data;
                if (d.Shape != first.Shape || d.DType != first.DType)
                    throw new ShapeMismatchException($"Stack: tensor {i} has shape {d.Shape} {d.DType}, tensor 0 has {first.Shape} {first.DType}.");
            }
            outShape = first.Shape.Insert(ax, inputs.Length);
        }
        else
        {
            ax = first.Shape.NormalizeAxis(axis, "Concat");
            int total = 0;
            for (int i = 0; i < inputs.Length; i++)
            {
                var d = inputs[i].Data;
                bool ok = d.Shape.Rank == first.Shape.Rank && d.DType == first.DType;
                for (int j = 0; ok && j < d.Shape.Rank; j++) ok = j == ax || d.Shape[j] == first.Shape[j];
                if (!ok)
                    throw new ShapeMismatchException($"Concat: tensor {i} has shape {d.Shape} {d.DType}, incompatible with tensor 0 {first.Shape} {first.DType} along axis {axis}.");
                total += d.Shape[ax];
            }
            outShape = first.Shape.With(ax, total);
        }
        int outer = outShape.Product(0, ax);
        var o = Tape.NewResult(outShape, first.DType);
        if (o.DType == DType.Float32) Forward<float>(inputs, o, outer);
        else Forward<double>(inputs, o, outer);

        var tape = Tape.RecordingTape();
        if (tape is not null)
        {
            bool any = false;
            foreach (var t in inputs) any |= t.Data.RequiresGrad;
            if (any)
            {
                ref var e = ref tape.Record(Instance, o);
                e.ExtraStart = tape.ExtraInputs.Count;
                e.ExtraCount = inputs.Length;
                e.SetArgs(outer);
                foreach (var t in inputs) tape.ExtraInputs.Add(t.Data);
            }
        }
        return new Tensor(o);
    }

    private static void Forward<T>(ReadOnlySpan<Tensor> inputs, TensorData o, int outer) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dst = o.Span<T>();
        int rowOut = o.Length / outer, pos = 0;
        foreach (var t in inputs)
        {
            var d = t.Data;
            int block = d.Length / outer;
            var src = d.Span<T>();
            for (int r = 0; r < outer; r++) src.Slice(r * block, block).CopyTo(dst.Slice(r * rowOut + pos, block));
            pos += block;
        }
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var g = tape.GradOf<T>(e.Out);
        int outer = e.GetArgs<int>(), rowOut = e.Out.Length / outer, pos = 0;
        for (int i = 0; i < e.ExtraCount; i++)
        {
            var d = tape.ExtraInputs[e.ExtraStart + i];
            int block = d.Length / outer;
            if (d.RequiresGrad)
            {
                var gd = tape.Grad<T>(d);
                for (int r = 0; r < outer; r++) Elementwise.AddInPlace(gd.Slice(r * block, block), g.Slice(r * rowOut + pos, block));
            }
            pos += block;
        }
    }
}
