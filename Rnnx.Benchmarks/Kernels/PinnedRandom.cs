namespace Rnnx.Benchmarks.Kernels;

/// <summary>Pinned arrays of uniform values in [-0.5, 0.5), for benchmarks that hand raw pointers to the engines.</summary>
public static class PinnedRandom
{
    /// <summary><paramref name="n"/> values from <paramref name="rng"/> in an array the GC never moves.</summary>
    public static float[] Floats(System.Random rng, int n)
    {
        var a = GC.AllocateArray<float>(n, pinned: true);
        for (int i = 0; i < n; i++) a[i] = (float)rng.NextDouble() - 0.5f;
        return a;
    }
}
