using System.Numerics;

namespace Rnnx.Kernels;

/// <summary>
/// The packed layout of a masked recurrent sequence (spans and integers). A (batch, time) mask becomes a plan: for
/// each processing step k, the batch rows active at that step (ascending), stored one step after another in
/// <c>rows</c> with <c>offsets[k]</c> .. <c>offsets[k + 1]</c>; packed row p is the p-th active (row, step) pair. The
/// fused ops compute only packed rows, so the work follows the steps actually computed, not batch × time. Plain
/// row copies and adds (whole-row <see cref="Span{T}.CopyTo"/> and <see cref="Elementwise.AddInPlace{T}"/>), so they
/// are their own scalar reference.
/// </summary>
internal static class PackedStepKernels
{
    /// <summary>Builds the plan from a (batch, steps) mask (non-zero = active); returns the number of packed rows.</summary>
    public static int Plan<T>(ReadOnlySpan<T> mask, int batch, int steps, bool goBackwards, Span<int> rows, Span<int> offsets)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int n = 0;
        for (int k = 0; k < steps; k++)
        {
            offsets[k] = n;
            int t = RecurrentKernels.TimeOf(k, steps, goBackwards);
            for (int b = 0; b < batch; b++)
                if (mask[b * steps + t] != T.Zero) rows[n++] = b;
        }
        offsets[steps] = n;
        return n;
    }

    /// <summary>
    /// dst (rows.Length × width, contiguous) = src rows <paramref name="rows"/> (row b at b·ld). Consecutive row numbers
    /// of a contiguous source (ld = width; a batch sorted by length makes every step's active rows one run) move as one block.
    /// </summary>
    public static void Gather<T>(ReadOnlySpan<T> src, int ld, ReadOnlySpan<int> rows, int width, Span<T> dst) where T : unmanaged
    {
        for (int i = 0, run; i < rows.Length; i += run)
        {
            run = RunLength(rows, i, ld == width);
            src.Slice(rows[i] * ld, run * width).CopyTo(dst.Slice(i * width, run * width));
        }
    }

    /// <summary>dst rows <paramref name="rows"/> (row b at b·ld) = src (rows.Length × width, contiguous); runs as in <see cref="Gather"/>.</summary>
    public static void Scatter<T>(ReadOnlySpan<T> src, ReadOnlySpan<int> rows, int width, Span<T> dst, int ld) where T : unmanaged
    {
        for (int i = 0, run; i < rows.Length; i += run)
        {
            run = RunLength(rows, i, ld == width);
            src.Slice(i * width, run * width).CopyTo(dst.Slice(rows[i] * ld, run * width));
        }
    }

    /// <summary>Zeroes rows <paramref name="rows"/> of dst (row b at b·ld); runs as in <see cref="Gather"/>.</summary>
    public static void ClearRows<T>(ReadOnlySpan<int> rows, int width, Span<T> dst, int ld) where T : unmanaged
    {
        for (int i = 0, run; i < rows.Length; i += run)
        {
            run = RunLength(rows, i, ld == width);
            dst.Slice(rows[i] * ld, run * width).Clear();
        }
    }

    /// <summary>How many rows from index i on are consecutive numbers (rows[i], rows[i] + 1, ...); 1 unless <paramref name="contiguous"/>.</summary>
    private static int RunLength(ReadOnlySpan<int> rows, int i, bool contiguous)
    {
        int j = i + 1;
        if (contiguous)
            while (j < rows.Length && rows[j] == rows[j - 1] + 1) j++;
        return j - i;
    }

    /// <summary>The packed inputs: packed row p = x[b, t(k)] for every active (b, k), x being (batch, steps, width).</summary>
    public static void GatherSteps<T>(ReadOnlySpan<T> x, int steps, int width, ReadOnlySpan<int> rows, ReadOnlySpan<int> offsets, bool goBackwards, Span<T> dst)
        where T : unmanaged
    {
        for (int k = 0; k < steps; k++)
        {
            int t = RecurrentKernels.TimeOf(k, steps, goBackwards);
            for (int p = offsets[k]; p < offsets[k + 1]; p++)
                x.Slice((rows[p] * steps + t) * width, width).CopyTo(dst.Slice(p * width, width));
        }
    }

    /// <summary>The reverse of <see cref="GatherSteps"/> for gradients: dx[b, t(k)] += packed row p.</summary>
    public static void ScatterAddSteps<T>(ReadOnlySpan<T> src, int steps, int width, ReadOnlySpan<int> rows, ReadOnlySpan<int> offsets, bool goBackwards, Span<T> dx)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int k = 0; k < steps; k++)
        {
            int t = RecurrentKernels.TimeOf(k, steps, goBackwards);
            for (int p = offsets[k]; p < offsets[k + 1]; p++)
                Elementwise.AddInPlace(dx.Slice((rows[p] * steps + t) * width, width), src.Slice(p * width, width));
        }
    }

    /// <summary>
    /// Step k of the output sequence H (batch, steps, u), Keras's masked output: an active row takes its new output
    /// (packed, contiguous), an inactive row repeats its output of step k − 1 (zeros at k = 0).
    /// </summary>
    public static void WriteStepOutputs<T>(ReadOnlySpan<T> packed, ReadOnlySpan<int> rows, int batch, int steps, int u, int k, Span<T> h) where T : unmanaged
    {
        int j = 0;
        for (int b = 0; b < batch; b++)
        {
            var dst = h.Slice((b * steps + k) * u, u);
            if (j < rows.Length && rows[j] == b) packed.Slice(j++ * u, u).CopyTo(dst);
            else if (k == 0) dst.Clear();
            else h.Slice((b * steps + k - 1) * u, u).CopyTo(dst);
        }
    }

    /// <summary>
    /// Backward of <see cref="WriteStepOutputs"/> at step k: carry += dH[:, k]; the active rows' carried output
    /// gradient moves into <paramref name="packed"/> (their step's output) and their carry restarts at zero; the
    /// inactive rows keep carrying it to the step whose output they repeat.
    /// </summary>
    public static void TakeStepOutputGradients<T>(ReadOnlySpan<T> dH, ReadOnlySpan<int> rows, int batch, int steps, int u, int k, Span<T> carry, Span<T> packed)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int b = 0; b < batch; b++) Elementwise.AddInPlace(carry.Slice(b * u, u), dH.Slice((b * steps + k) * u, u));
        Gather<T>(carry, u, rows, u, packed);
        ClearRows(rows, u, carry, u);
    }
}
