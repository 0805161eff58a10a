using System.Numerics;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;
using static Rnnx.Tests.Kernels.KernelTestUtil;

namespace Rnnx.Tests.Kernels;

[TestFixture]
public class ReductionKernelsTests
{
    private const int Guard = 19;

    private static void Check<T>(int rows, int cols, bool acc) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(rows * 1000 + cols);
        string ctx = $"{typeof(T).Name} rows={rows} cols={cols} acc={acc}";
        T[] src = Random<T>(rng, rows * cols);
        T[] asrc = Abs(src);

        // SumRows (column sums) into dst[cols] followed by an untouched guard zone.
        {
            T[] d0 = Random<T>(rng, cols + Guard);
            T[] e = (T[])d0.Clone(), r = (T[])d0.Clone();
            ReferenceReduction.SumRows<T>(src, e, rows, cols, acc);
            ReductionKernels.SumRows<T>(src, r, rows, cols, acc);
            T[] s = acc ? Abs(d0) : new T[d0.Length];
            ReferenceReduction.SumRows<T>(asrc, s, rows, cols, true);
            Array.Clear(s, cols, Guard);
            AssertClose<T>(r, e, s, "SumRows " + ctx);
        }
        // SumCols (row sums) into dst[rows].
        {
            T[] d0 = Random<T>(rng, rows + Guard);
            T[] e = (T[])d0.Clone(), r = (T[])d0.Clone();
            ReferenceReduction.SumCols<T>(src, e, rows, cols, acc);
            ReductionKernels.SumCols<T>(src, r, rows, cols, acc);
            T[] s = acc ? Abs(d0) : new T[d0.Length];
            ReferenceReduction.SumCols<T>(asrc, s, rows, cols, true);
            Array.Clear(s, rows, Guard);
            AssertClose<T>(r, e, s, "SumCols " + ctx);
        }
        // AddRowVector: one addition per element, so the result must be exact.
        {
            T[] bias = Random<T>(rng, cols);
            T[] d0 = Random<T>(rng, rows * cols + Guard);
            T[] e = (T[])d0.Clone(), r = (T[])d0.Clone();
            ReferenceReduction.AddRowVector<T>(e, bias, rows, cols);
            ReductionKernels.AddRowVector<T>(r, bias, rows, cols);
            AssertClose<T>(r, e, new T[r.Length], "AddRowVector " + ctx); // zero scale: exact
        }
    }

    [Test]
    public void AllFinite_FindsEveryNaNAndInfinity([Values] Precision p)
    {
        Dispatch(p, _ => AllFinite<float>(float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue),
            _ => AllFinite<double>(double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.MaxValue));
    }

    [Test]
    public void AllFiniteAfterScaling_MatchesReference_AtTheBound([Values] Precision p)
    {
        Dispatch(p, _ => AllFiniteAfterScaling<float>(), _ => AllFiniteAfterScaling<double>());
    }

    private static void AllFiniteAfterScaling<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(4);
        T max = MaxOf<T>();
        foreach (int k in new[] { 0, 1, 2, 5 })
        {
            T scale = T.CreateChecked(1 << k);
            // the largest magnitude whose product stays finite, and the next one up
            T below = max / scale, above = T.BitIncrement(max / scale);
            for (int n = 0; n <= 131; n += n < 40 ? 1 : 13)
            {
                T[] x = Random<T>(rng, n);
                Assert.That(ReductionKernels.AllFiniteAfterScaling<T>(x, scale), Is.EqualTo(ReferenceReduction.AllFiniteAfterScaling<T>(x, scale)));
                for (int i = 0; i < n; i += 1 + n / 9)
                    foreach (T v in new[] { below, -below, above, -above, T.NaN, T.PositiveInfinity, -T.Zero })
                    {
                        T keep = x[i];
                        x[i] = v;
                        bool expected = ReferenceReduction.AllFiniteAfterScaling<T>(x, scale);
                        Assert.That(ReductionKernels.AllFiniteAfterScaling<T>(x, scale), Is.EqualTo(expected), $"{typeof(T).Name} n={n} 2^{k} {v} at {i}");
                        Assert.That(expected, Is.EqualTo(T.IsFinite(v * scale)), "the reference decides by the changed value");
                        x[i] = keep;
                    }
            }
        }
    }

    private static T MaxOf<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        typeof(T) == typeof(float) ? T.CreateChecked(float.MaxValue) : T.CreateChecked(double.MaxValue);

    private static void AllFinite<T>(T nan, T inf, T negInf, T max) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(3);
        for (int n = 0; n <= 257; n++)
        {
            T[] x = Random<T>(rng, n);
            if (n > 2) { x[0] = max; x[1] = -max; x[2] = -T.Zero; }   // large and signed-zero values are finite
            Assert.That(ReductionKernels.AllFinite<T>(x), Is.True, $"{typeof(T).Name} n={n} all finite");
            for (int i = 0; i < n; i++)
            {
                foreach (T bad in new[] { nan, inf, negInf })
                {
                    T keep = x[i];
                    x[i] = bad;
                    Assert.That(ReductionKernels.AllFinite<T>(x), Is.False, $"{typeof(T).Name} n={n} {bad} at {i}");
                    x[i] = keep;
                }
            }
        }
    }

    [Test]
    public void SweepCols([Values] Precision p, [Values] bool acc, [Values(0, 1, 2, 3, 7)] int rows)
    {
        for (int cols = 0; cols <= 257; cols++)
            Dispatch(p, _ => Check<float>(rows, cols, acc), _ => Check<double>(rows, cols, acc));
    }

    [Test]
    public void SweepRows([Values] Precision p, [Values] bool acc, [Values(1, 5, 20, 80)] int cols)
    {
        for (int rows = 0; rows <= 257; rows++)
            Dispatch(p, _ => Check<float>(rows, cols, acc), _ => Check<double>(rows, cols, acc));
    }

    [TestCase(1600, 80)]
    [TestCase(32, 80)]
    [TestCase(33, 17)]
    public void TrainingShapes(int rows, int cols)
    {
        Check<float>(rows, cols, false);
        Check<float>(rows, cols, true);
        Check<double>(rows, cols, true);
    }

    [Test]
    public void SmallExact()
    {
        float[] m = { 1, 2, 3, 4, 5, 6 }; // 2 x 3
        float[] colSums = new float[3], rowSums = new float[2];
        ReductionKernels.SumRows<float>(m, colSums, 2, 3, false);
        ReductionKernels.SumCols<float>(m, rowSums, 2, 3, false);
        Assert.That(colSums, Is.EqualTo(new float[] { 5, 7, 9 }));
        Assert.That(rowSums, Is.EqualTo(new float[] { 6, 15 }));
        ReductionKernels.AddRowVector<float>(m, new float[] { 10, 20, 30 }, 2, 3);
        Assert.That(m, Is.EqualTo(new float[] { 11, 22, 33, 14, 25, 36 }));
    }
}
