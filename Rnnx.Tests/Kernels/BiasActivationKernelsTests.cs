using System.Numerics;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;
using static Rnnx.Tests.Kernels.KernelTestUtil;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// The one-pass bias and relu (<see cref="BiasActivationKernels"/>) against the two passes it replaces
/// (<see cref="ReductionKernels.AddRowVector{T}"/>, then <see cref="Elementwise.Relu{T}"/>) and the scalar twin, bit for
/// bit, special values included (NaN, ±0, ±∞, sums that round to −0).
/// </summary>
[TestFixture]
public class BiasActivationKernelsTests
{
    private static void Check<T>(int rows, int cols) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(rows * 977 + cols);
        T[] y0 = Random<T>(rng, rows * cols), b = Random<T>(rng, cols);
        T[] special = [T.NaN, T.Zero, T.NegativeZero, T.PositiveInfinity, T.NegativeInfinity, T.One, -T.One];
        for (int i = 0; i < y0.Length; i += 5) y0[i] = special[(i / 5) % special.Length];
        for (int c = 0; c < cols; c += 9) b[c] = special[(c / 9 + 3) % special.Length];
        if (y0.Length > 3 && cols > 3) y0[3] = -b[3];   // an exact zero sum
        T[] two = (T[])y0.Clone(), one = (T[])y0.Clone(), twin = (T[])y0.Clone();
        ReductionKernels.AddRowVector<T>(two, b, rows, cols);
        Elementwise.Relu<T>(two, two);
        BiasActivationKernels.AddRowVectorRelu<T>(one, b, rows, cols);
        ReferenceBiasActivation.AddRowVectorRelu<T>(twin, b, rows, cols);
        Assert.That(Bits(one), Is.EqualTo(Bits(two)), $"{typeof(T).Name} {rows} x {cols}: against the two passes");
        Assert.That(Bits(twin), Is.EqualTo(Bits(two)), $"{typeof(T).Name} {rows} x {cols}: the twin against the two passes");
    }

    [Test]
    public void AddRowVectorRelu_SameBitsAsBiasThenRelu([Values(0, 1, 3, 17)] int rows, [Values(1, 7, 32, 33, 64, 67, 128)] int cols,
        [Values] Precision p)
    {
        if (p == Precision.Float) Check<float>(rows, cols);
        else Check<double>(rows, cols);
    }

    [Test]
    public void AddRowVectorRelu_RefusesShortSpans()
    {
        var ex = Assert.Throws<ArgumentException>(() => BiasActivationKernels.AddRowVectorRelu<float>(new float[10], new float[4], 2, 6));
        Assert.That(ex!.Message, Does.Contain("2 x 6").And.Contain("y 10"));
        Assert.Throws<ArgumentException>(() => BiasActivationKernels.AddRowVectorRelu<float>(new float[12], new float[4], 2, 6));
    }
}
