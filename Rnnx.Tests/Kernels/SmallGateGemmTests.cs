using System.Numerics;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// <see cref="SmallGateGemm"/> against the scalar twin <see cref="ReferenceRecurrent.GateProduct{T}"/> (each product from
/// zero in increasing order, one multiply-add each), then the add into C or the masked add into dA in gate order:
/// bit for bit, for widths of one, two and three vectors (the last one overlapping), every tile height, fewer gates
/// used than packed, and with nothing written outside the gates' columns. Runs on whichever SIMD width the process has
/// (the suite's reruns cover 256-bit, 128-bit and no SIMD, where the kernel declines every shape).
/// </summary>
public class SmallGateGemmTests
{
    private static T[] Rand<T>(int seed, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(seed);
        var a = new T[n];
        for (int i = 0; i < n; i++) a[i] = T.CreateTruncating(rng.NextDouble() * 4 - 2);
        return a;
    }

    private static int Width<T>() where T : unmanaged =>
        System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? System.Runtime.Intrinsics.Vector256<T>.Count
        : System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated ? System.Runtime.Intrinsics.Vector128<T>.Count : 0;

    [Test]
    public void MultiplyAndMaskedInputGrad_AreTheScalarTwinBitForBit([Values(false, true)] bool useDouble)
    {
        int tested = useDouble ? Check<double>() : Check<float>();
        if (Width<float>() > 0) Assert.That(tested, Is.GreaterThan(20), "shapes the kernel took");
        else Assert.That(tested, Is.Zero, "no SIMD: the kernel declines");
    }

    private static int Check<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Width<T>(), tested = 0;
        foreach (int width in new[] { 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 17, 20, 23, 24, 25 })
            foreach (int red in new[] { 1, 2, 20, 67, 256, 257 })
                foreach (var (gates, used) in new[] { (4, 4), (3, 2), (2, 2) })
                    foreach (int rows in new[] { 1, 3, 4, 6, 16, 33 })
                    {
                        bool supported = SmallGateGemm.Supports<T>(red, width);
                        Assert.That(supported, Is.EqualTo(w > 0 && width >= w && width <= 3 * w && red <= 256), $"{red} x {width}");
                        if (!supported) continue;
                        tested++;
                        string what = $"{typeof(T).Name} {gates} gates ({used} used) {red} x {width}, {rows} rows";
                        // forward: A gate blocks of red side by side (rows lda apart), B red x gates·width row-major
                        int lda = gates * red + 3, ldb = gates * width + 1, ldc = gates * width + 5, ldp = gates * width;
                        var a = Rand<T>(red + rows, rows * lda);
                        var b = Rand<T>(width + 7, red * ldb);
                        var p = new T[rows * ldp];
                        ReferenceRecurrent.GateProduct<T>(used, rows, red, width, a, lda, red, b, ldb, false, p, ldp, width);
                        foreach (bool accumulate in new[] { false, true })
                        {
                            var c = Rand<T>(rows * 3 + 1, rows * ldc);
                            var expected = c.ToArray();
                            for (int i = 0; i < rows; i++)
                                for (int j = 0; j < used * width; j++)
                                    expected[i * ldc + j] = accumulate ? expected[i * ldc + j] + p[i * ldp + j] : p[i * ldp + j];
                            SmallGateGemm.Multiply<T>(used, rows, red, width, a, lda, red, b, ldb, c, ldc, accumulate);
                            Assert.That(c, Is.EqualTo(expected), $"Multiply (accumulate {accumulate}), {what}");
                        }

                        // input gradient: dc's gate blocks of red, Bᵀ gate after gate (gates·red x width, ldbt), masks of
                        // width per gate (rows per mask 1 and 3); the gates' masked products added to dA in gate order
                        int lddc = gates * red + 2, ldbt = width + 3, maskLd = gates * width + 1, ldda = width + 4;
                        var dc = Rand<T>(red * 5 + rows, rows * lddc);
                        var bt = Rand<T>(width * 3 + 2, gates * red * ldbt);
                        foreach (int rowsPerMask in new[] { 1, 3 })
                        {
                            var masks = Rand<T>(17 + rows, ((rows - 1) / rowsPerMask + 1) * maskLd);
                            for (int i = 0; i < masks.Length; i++) if (i % 5 == 2) masks[i] = T.Zero;
                            var pg = new T[rows * ldp];
                            // Bᵀ as GateProduct's transposed B: B_g[q, j] = bt[(g·red + q)·ldbt + j] = "b[j·ldb' + g·red + q]" for
                            // a b' that is bt's transpose; built explicitly
                            int ldbT = gates * red;
                            var bPrime = new T[width * ldbT];
                            for (int r = 0; r < gates * red; r++)
                                for (int j = 0; j < width; j++) bPrime[j * ldbT + r] = bt[r * ldbt + j];
                            ReferenceRecurrent.GateProduct<T>(used, rows, red, width, dc, lddc, red, bPrime, ldbT, true, pg, ldp, width);
                            var da = Rand<T>(rows + 23, rows * ldda);
                            var daExpected = da.ToArray();
                            for (int i = 0; i < rows; i++)
                                for (int g = 0; g < used; g++)
                                    for (int j = 0; j < width; j++)
                                        daExpected[i * ldda + j] += pg[i * ldp + g * width + j] * masks[i / rowsPerMask * maskLd + g * width + j];
                            SmallGateGemm.MaskedInputGrad<T>(used, rows, red, width, dc, lddc, bt, ldbt, masks, maskLd, rowsPerMask, da, ldda);
                            Assert.That(da, Is.EqualTo(daExpected), $"MaskedInputGrad ({rowsPerMask} rows per mask), {what}");
                        }
                    }
        return tested;
    }

    [Test]
    public void ShortOperands_AreRefusedWithTheirSizes()
    {
        int u = 2 * Width<float>();   // two vectors per gate at this process's width (0: no SIMD)
        if (u == 0)
        {
            Assert.That(SmallGateGemm.Supports<float>(20, 8), Is.False, "no SIMD: the kernel declines");
            Assert.That(() => SmallGateGemm.Multiply<float>(4, 1, 20, 8, new float[80], 80, 20, new float[640], 32, new float[32], 32, true),
                Throws.ArgumentException.With.Message.Contains("1 rows of 4 gates of 20 x 8"));
            return;
        }
        var a = new float[16 * 4 * u];
        var b = new float[u * 4 * u];
        Assert.That(() => SmallGateGemm.Multiply<float>(4, 16, u, u, a, 4 * u, u, b, 4 * u, new float[16 * 4 * u - 1], 4 * u, true),
            Throws.ArgumentException.With.Message.Contains($"16 rows of 4 gates of {u} x {u}"));
        Assert.That(() => SmallGateGemm.MaskedInputGrad<float>(4, 16, u, u, a, 4 * u, b, u, new float[10], 4 * u, 1, new float[16 * u], u),
            Throws.ArgumentException.With.Message.Contains("the masks (10"));
        Assert.That(() => SmallGateGemm.Multiply<float>(4, 16, 300, u, a, 4 * u, u, b, 4 * u, a, 4 * u, true),
            Throws.ArgumentException.With.Message.Contains($"300 x {u}"));
    }
}
