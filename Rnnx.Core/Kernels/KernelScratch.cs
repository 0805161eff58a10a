using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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

    /// <summary>A buffer of <paramref name="length"/> elements starting on a 64-byte boundary (contents unspecified).</summary>
    public static Span<T> Get(int length) => AlignedArrays.Grow(ref t_buffer, length);
}

/// <summary>
/// Pinned arrays whose usable part starts on a 64-byte boundary. An array's data starts wherever the GC put the
/// object (8-byte aligned), so a vector of 32 bytes in a buffer that starts 8 bytes past a cache line spans two lines
/// every other load or store; where that falls changed from process to process, and a movable array could change it
/// at a compaction. Pinned (never moved) and sliced from the first aligned element, the buffers' layout is the same in
/// every run.
/// </summary>
internal static class AlignedArrays
{
    /// <summary>
    /// The first 64-byte boundary at or after <paramref name="raw"/>: for a stack buffer of 64 bytes more than it
    /// needs (a thread's stack starts at a random offset in its page, so a plain stackalloc's alignment changed from
    /// run to run and between the caller's thread and the workers).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe T* CacheLine<T>(byte* raw) where T : unmanaged => (T*)(((nint)raw + 63) & ~(nint)63);

    /// <summary>Elements of <typeparamref name="T"/> in 64 bytes: the slack allocated past a requested length.</summary>
    public static int Slack<T>() where T : unmanaged => 64 / Unsafe.SizeOf<T>();

    /// <summary>A pinned array with room for <paramref name="length"/> elements from its first 64-byte-aligned one.</summary>
    public static T[] Allocate<T>(int length) where T : unmanaged =>
        GC.AllocateUninitializedArray<T>(checked(length + Slack<T>()), pinned: true);

    /// <summary>The index of the first element of <paramref name="array"/> (pinned) on a 64-byte boundary.</summary>
    public static unsafe int Bias<T>(T[] array) where T : unmanaged
    {
        long address = (long)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        return (int)((64 - address % 64) % 64) / Unsafe.SizeOf<T>();
    }

    /// <summary>
    /// <paramref name="length"/> aligned elements of <paramref name="buffer"/>, replaced first by a larger array (at
    /// least twice the old one and 1024 elements) when it has not room for them.
    /// </summary>
    public static Span<T> Grow<T>(ref T[]? buffer, int length) where T : unmanaged
    {
        if (buffer is null || buffer.Length - Slack<T>() < length)
        {
            long size = Math.Max(length, Math.Min(Array.MaxLength - Slack<T>(), 2L * ((buffer?.Length ?? 0) - Slack<T>())));
            buffer = Allocate<T>((int)Math.Max(size, 1024));
        }
        return buffer.AsSpan(Bias(buffer), length);
    }
}
