namespace Rnnx.Kernels;

/// <summary>
/// Per-thread scratch buffer for packing (transposed B panels, transposed conv weights). It grows
/// geometrically and is reused, so kernels allocate only on the first call (or when a larger problem comes).
/// Only one kernel uses it at a time on a given thread: kernels never call each other while holding it.
/// </summary>
internal static class KernelScratch<T> where T : unmanaged
{
    [ThreadStatic]
    private static T[]? t_buffer;

    /// <summary>A buffer of at least <paramref name="length"/> elements (contents unspecified).</summary>
    public static T[] Get(int length)
    {
        T[]? buffer = t_buffer;
        if (buffer is null || buffer.Length < length)
        {
            int size = Math.Max(length, Math.Min(Array.MaxLength, 2 * (buffer?.Length ?? 0)));
            size = Math.Max(size, 1024);
            buffer = GC.AllocateUninitializedArray<T>(size, pinned: true);
            t_buffer = buffer;
        }
        return buffer;
    }
}
