using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnnx.Kernels;

/// <summary>
/// <see cref="RecurrentKernels.AddColumnSums{T}"/> a block of rows at a time, for a pass that already walks dZ in row
/// blocks (the bias gradient read while a block is in cache instead of a pass of its own over all of dZ): four
/// accumulator rows (4 × g) carried from block to block, accumulator q summing the rows r ≡ q (mod 4) in increasing
/// order and accumulator 0 also the rows after the last multiple of four, then dst += (a0 + a1) + (a2 + a3)
/// (<see cref="Finish{T}"/>). With every block but the last a multiple of four rows these are the same additions in
/// the same order as the one pass (lane-wise, so whatever the vector width): the same bits. The scalar twin is
/// <see cref="Reference.ReferenceRecurrent.AddColumnSums{T}"/>, whose one pass they equal.
/// </summary>
internal static class ColumnSumBlocks
{
    /// <summary>Adds a block of <paramref name="rows"/> rows of z (g columns, row stride ld) into the accumulators (4 × g, cleared before the first block).</summary>
    public static void Add<T>(ReadOnlySpan<T> z, int rows, int g, int ld, Span<T> acc) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (rows == 0 || g == 0) return;
        if (z.Length < (long)(rows - 1) * ld + g || acc.Length < 4 * g)
            throw new ArgumentException($"ColumnSumBlocks.Add: z ({z.Length}) or the accumulators ({acc.Length}) do not fit {rows} rows of {g} (ld {ld}).");
        ref T pz = ref MemoryMarshal.GetReference(z);
        ref T pa = ref MemoryMarshal.GetReference(acc);
        int rows4 = rows & ~3, w = Vector.IsHardwareAccelerated ? Vector<T>.Count : 1, j = 0;
        nint l = ld;
        if (w > 1)
            for (; j + w <= g; j += w)
            {
                var a0 = Vector.LoadUnsafe(ref pa, (nuint)j);
                var a1 = Vector.LoadUnsafe(ref pa, (nuint)(g + j));
                var a2 = Vector.LoadUnsafe(ref pa, (nuint)(2 * g + j));
                var a3 = Vector.LoadUnsafe(ref pa, (nuint)(3 * g + j));
                int r = 0;
                for (; r < rows4; r += 4)
                {
                    ref T row = ref Unsafe.Add(ref pz, r * l + j);
                    a0 += Vector.LoadUnsafe(ref row);
                    a1 += Vector.LoadUnsafe(ref Unsafe.Add(ref row, l));
                    a2 += Vector.LoadUnsafe(ref Unsafe.Add(ref row, 2 * l));
                    a3 += Vector.LoadUnsafe(ref Unsafe.Add(ref row, 3 * l));
                }
                for (; r < rows; r++) a0 += Vector.LoadUnsafe(ref Unsafe.Add(ref pz, r * l + j));
                a0.StoreUnsafe(ref pa, (nuint)j);
                a1.StoreUnsafe(ref pa, (nuint)(g + j));
                a2.StoreUnsafe(ref pa, (nuint)(2 * g + j));
                a3.StoreUnsafe(ref pa, (nuint)(3 * g + j));
            }
        for (; j < g; j++)
        {
            T a0 = Unsafe.Add(ref pa, j), a1 = Unsafe.Add(ref pa, g + j), a2 = Unsafe.Add(ref pa, 2 * g + j), a3 = Unsafe.Add(ref pa, 3 * g + j);
            int r = 0;
            for (; r < rows4; r += 4)
            {
                a0 += Unsafe.Add(ref pz, r * l + j);
                a1 += Unsafe.Add(ref pz, (r + 1) * l + j);
                a2 += Unsafe.Add(ref pz, (r + 2) * l + j);
                a3 += Unsafe.Add(ref pz, (r + 3) * l + j);
            }
            for (; r < rows; r++) a0 += Unsafe.Add(ref pz, r * l + j);
            Unsafe.Add(ref pa, j) = a0;
            Unsafe.Add(ref pa, g + j) = a1;
            Unsafe.Add(ref pa, 2 * g + j) = a2;
            Unsafe.Add(ref pa, 3 * g + j) = a3;
        }
    }

    /// <summary>dst[j] += (a0[j] + a1[j]) + (a2[j] + a3[j]): the sums of all blocks added.</summary>
    public static void Finish<T>(ReadOnlySpan<T> acc, int g, Span<T> dst) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (acc.Length < 4 * g || dst.Length < g)
            throw new ArgumentException($"ColumnSumBlocks.Finish: the accumulators ({acc.Length}) or dst ({dst.Length}) do not fit {g} columns.");
        for (int j = 0; j < g; j++) dst[j] += (acc[j] + acc[g + j]) + (acc[2 * g + j] + acc[3 * g + j]);
    }
}
