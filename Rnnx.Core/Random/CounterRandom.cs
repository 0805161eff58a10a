using System.Runtime.CompilerServices;

namespace Rnnx.Random;

/// <summary>
/// The key of a counter-based noise tensor (<see cref="Tensor.DropoutMask"/>, <see cref="Tensor.GaussianNoise"/>):
/// every element's value is a pure function of (stream, step, global row, element index), so the noise does not depend
/// on which thread or shard computes which rows, nor on how many there are.
/// </summary>
/// <param name="Stream">The noise stream, e.g. derived from the model seed and the layer (<see cref="CounterRandom.Stream"/>).</param>
/// <param name="Step">The training step (e.g. the optimizer's iteration count): a fresh draw every step.</param>
/// <param name="FirstRow">The global index of the tensor's first row (the first sample's position in the epoch), so a shard's rows draw what they would in one whole batch.</param>
public readonly record struct NoiseKey(ulong Stream, long Step, long FirstRow);

/// <summary>
/// Counter-based random numbers (SplitMix64's finalizer applied to a hash of the counters): no generator state is shared,
/// so parallel shards draw exactly what one thread would. Not cryptographic.
/// </summary>
public static class CounterRandom
{
    private const ulong Golden = 0x9E3779B97F4A7C15UL;

    /// <summary>SplitMix64's finalizer: a bijective 64-bit mix.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A stream id from a seed and up to two further ids (e.g. a layer's name hash and which mask of the layer).</summary>
    public static ulong Stream(long seed, ulong id = 0, ulong part = 0) =>
        Mix(Mix(Mix((ulong)seed + Golden) ^ (id * Golden)) ^ (part + 1) * 0xD1B54A32D192ED03UL);

    /// <summary>A stable 64-bit hash of a string (FNV-1a over its UTF-16 code units): the same in every process, unlike <see cref="string.GetHashCode()"/>.</summary>
    public static ulong StableHash(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        ulong h = 0xCBF29CE484222325UL;
        foreach (char c in text)
        {
            h ^= c;
            h *= 0x100000001B3UL;
        }
        return h;
    }

    /// <summary>The hash of one row: every element of the row then mixes in its index (<see cref="ElementBits"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong RowHash(NoiseKey key, long row) =>
        Mix(Mix(key.Stream ^ ((ulong)key.Step + 1) * Golden) ^ (ulong)(key.FirstRow + row) * 0xD1B54A32D192ED03UL);

    /// <summary>64 random bits of element <paramref name="element"/> of a row with hash <paramref name="rowHash"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ElementBits(ulong rowHash, long element) => Mix(rowHash + ((ulong)element + 1) * Golden);

    /// <summary>A uniform double in [0, 1) from 64 random bits (the top 53).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Uniform(ulong bits) => (bits >> 11) * (1.0 / (1UL << 53));

    /// <summary>
    /// A standard normal value of element <paramref name="element"/> (Box–Muller on two uniforms drawn from elements
    /// 2·element and 2·element + 1 of the row's counter space).
    /// </summary>
    public static double Normal(ulong rowHash, long element)
    {
        double u1 = Uniform(ElementBits(rowHash, 2 * element)), u2 = Uniform(ElementBits(rowHash, 2 * element + 1));
        return Math.Sqrt(-2.0 * Math.Log(1.0 - u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
