using Rnnx.Data;
using Rnnx.Random;

namespace Rnnx.Tests.Data;

/// <summary>
/// Pins <see cref="TimeSeries"/> and <see cref="ChapterData"/> against the notebook's numpy code (numpy 1.24.2).
/// Every float32 literal was produced by the Python snippet in the comment above it, where
/// <code>
/// import numpy as np
/// def gen(b, n):   # the notebook's generate_time_series
///     freq1, freq2, offsets1, offsets2 = np.random.rand(4, b, 1)
///     time = np.linspace(0, 1, n)
///     series = 0.5 * np.sin((time-offsets1) * (freq1 * 10 + 10))
///     series += 0.2 * np.sin((time-offsets2) * (freq2 * 20 + 20))
///     series += 0.1 * (np.random.rand(b, n) - 0.5)
///     return series[..., np.newaxis].astype(np.float32)
/// </code>
/// (Beyond these pins, all 1,110,300 generated values of the one-step and ten-step data were checked equal to numpy's
/// once, with and without numpy's AVX-512 sin kernels.)
/// </summary>
public class TimeSeriesTests
{
    private static OneStepData? s_oneStep;
    private static TenStepData? s_tenStep;

    private static OneStepData OneStep => s_oneStep ??= ChapterData.OneStep();
    private static TenStepData TenStep => s_tenStep ??= ChapterData.TenStep();

    [Test]
    public void Generate_MockSeries_MatchesNumPy()
    {
        // np.random.seed(0); mock = gen(3, 100); [mock[i, j, 0] for i, j in [(0,0),(0,1),(1,50),(2,98),(2,99)]]
        float[] mock = TimeSeries.Generate(new NumPyRandomState(0), 3, 100);
        Assert.That(mock, Has.Length.EqualTo(300));
        Assert.That(new[] { mock[0], mock[1], mock[150], mock[298], mock[299] },
            Is.EqualTo(new[] { -0.0986551f, 0.048428446f, -0.33972338f, 0.3327384f, 0.27947906f }));

        Assert.That(OneStep.MockSeries, Is.EqualTo(mock));
        Assert.That(OneStep.MockSeriesShape, Is.EqualTo(new[] { 3, 100, 1 }));
    }

    [Test]
    public void Generate_ConsumesExactlyTheNotebooksDraws()
    {
        // rand(4, b, 1) then rand(b, n): 4*3 + 3*100 doubles for gen(3, 100).
        var rng = new NumPyRandomState(0);
        TimeSeries.Generate(rng, 3, 100);
        var reference = new NumPyRandomState(0);
        reference.Rand(4 * 3 + 3 * 100);
        Assert.That(rng.GetState(), Is.EqualTo(reference.GetState()));
    }

    [Test]
    public void Generate_ShortSeries_MatchesNumPyLinspaceEdgeCases()
    {
        // np.random.seed(0); gen(2, 1).ravel()  -> [-0.28984752, 0.35466206]   (np.linspace(0, 1, 1) == [0.])
        Assert.That(TimeSeries.Generate(new NumPyRandomState(0), 2, 1), Is.EqualTo(new[] { -0.28984752f, 0.35466206f }));
        // np.random.seed(0); gen(2, 2).ravel()  -> [-0.28984752, 0.0808941, 0.3954904, -0.14134231]
        Assert.That(TimeSeries.Generate(new NumPyRandomState(0), 2, 2),
            Is.EqualTo(new[] { -0.28984752f, 0.0808941f, 0.3954904f, -0.14134231f }));
    }

    [Test]
    public void Generate_ValidatesArguments()
    {
        var rng = new NumPyRandomState(0);
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => TimeSeries.Generate(rng, 0, 10))!.ParamName, Is.EqualTo("batchSize"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => TimeSeries.Generate(rng, -3, 10))!.ParamName, Is.EqualTo("batchSize"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => TimeSeries.Generate(rng, 5, 0))!.ParamName, Is.EqualTo("nSteps"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => TimeSeries.Generate(rng, 5, -1))!.ParamName, Is.EqualTo("nSteps"));
        Assert.Throws<ArgumentOutOfRangeException>(() => TimeSeries.Generate(rng, 1 << 20, 1 << 20));
        Assert.That(Assert.Throws<ArgumentNullException>(() => TimeSeries.Generate(null!, 5, 5))!.ParamName, Is.EqualTo("rng"));
        Assert.That(rng.GetState(), Is.EqualTo(new NumPyRandomState(0).GetState()), "rejected calls must not draw");
    }

    [Test]
    public void OneStep_ShapesAndSplits()
    {
        OneStepData d = OneStep;
        AssertSplit(d.Train, [7000, 50, 1], [7000, 1]);
        AssertSplit(d.Valid, [2000, 50, 1], [2000, 1]);
        AssertSplit(d.Test, [1000, 50, 1], [1000, 1]);
    }

    [Test]
    public void OneStep_SeriesValues_MatchNumPy()
    {
        // np.random.seed(0); gen(3, 100); s = gen(10000, 51)
        // [s[i, j, 0] for i, j in [(0,0),(1234,17),(7000,49),(9999,50)]]
        //   -> [-0.4049947, 0.12954591, -0.6431258, 0.37904644]
        OneStepData d = OneStep;
        Assert.That(d.Train.X[0], Is.EqualTo(-0.4049947f));
        Assert.That(d.Train.X[1234 * 50 + 17], Is.EqualTo(0.12954591f));
        Assert.That(d.Valid.X[(7000 - 7000) * 50 + 49], Is.EqualTo(-0.6431258f));
        Assert.That(d.Test.Y[9999 - 9000], Is.EqualTo(0.37904644f)); // y = series[:, -1] is step 50
    }

    [Test]
    public void OneStep_NaiveForecastValidationMse_IsTheNotebooks()
    {
        // y_pred = X_valid[:, -1]; np.mean(keras.losses.mean_squared_error(y_valid, y_pred))  -> 0.021185566
        // Same as: np.mean(np.mean(np.square(X[7000:9000, -1] - y[7000:9000]), axis=-1)) in float32.
        DataSplit valid = OneStep.Valid;
        var perSample = new float[valid.Count];
        for (int i = 0; i < perSample.Length; i++)
        {
            float diff = valid.X[i * 50 + 49] - valid.Y[i];
            perSample[i] = diff * diff / 1f; // Keras: mean over the last axis (length 1)
        }
        // np.mean of float32: float32 pairwise add.reduce, then float32(sum / count).
        float mse = (float)(NumPyPairwiseSum(perSample) / (double)perSample.Length);
        Assert.That(mse, Is.EqualTo(0.021185566f));
    }

    [Test]
    public void TenStep_ShapesAndSplits()
    {
        TenStepData d = TenStep;
        AssertSplit(d.Train, [7000, 50, 1], [7000, 10]);
        AssertSplit(d.Valid, [2000, 50, 1], [2000, 10]);
        AssertSplit(d.Test, [1000, 50, 1], [1000, 10]);
        AssertSplit(d.TrainSequence, [7000, 50, 1], [7000, 50, 10]);
        AssertSplit(d.ValidSequence, [2000, 50, 1], [2000, 50, 10]);
        AssertSplit(d.TestSequence, [1000, 50, 1], [1000, 50, 10]);
        Assert.That(d.TrainSequence.X, Is.SameAs(d.Train.X));
    }

    [Test]
    public void TenStep_SeriesValues_MatchNumPy()
    {
        // np.random.seed(0); s = gen(10000, 60)
        // [s[i, j, 0] for i, j in [(0,0),(1234,17),(9999,50),(9999,59)]]
        //   -> [-0.10545008, -0.11976162, -0.53275037, 0.14857224]
        TenStepData d = TenStep;
        Assert.That(d.Train.X[0], Is.EqualTo(-0.10545008f));
        Assert.That(d.Train.X[1234 * 50 + 17], Is.EqualTo(-0.11976162f));
        Assert.That(d.Test.Y[999 * 10 + 0], Is.EqualTo(-0.53275037f));
        Assert.That(d.Test.Y[999 * 10 + 9], Is.EqualTo(0.14857224f));

        // Y10 = s[:, -10:, 0]; Y = np.empty((10000, 50, 10))
        // for k in range(1, 11): Y[:, :, k-1] = s[:, k:k+50, 0]
        // Y10[8000, 3], Y[8000, 49, 9], Y[1234, 0, 0], Y[9500, 20, 5]
        //   -> -0.7116905 0.087029435 0.027357772 0.47423962
        Assert.That(d.Valid.Y[1000 * 10 + 3], Is.EqualTo(-0.7116905f));
        Assert.That(d.ValidSequence.Y[(1000 * 50 + 49) * 10 + 9], Is.EqualTo(0.087029435f));
        Assert.That(d.TrainSequence.Y[(1234 * 50 + 0) * 10 + 0], Is.EqualTo(0.027357772f));
        Assert.That(d.TestSequence.Y[(500 * 50 + 20) * 10 + 5], Is.EqualTo(0.47423962f));
    }

    [Test]
    public void TenStep_SequenceTargetsAreShiftedSeries()
    {
        TenStepData d = TenStep;
        foreach ((DataSplit vector, DataSplit sequence) in new[]
                 { (d.Train, d.TrainSequence), (d.Valid, d.ValidSequence), (d.Test, d.TestSequence) })
        {
            for (int n = 0; n < vector.Count; n += 37)
            {
                for (int t = 0; t < 50; t++)
                {
                    for (int k = 1; k <= 10; k++)
                    {
                        float expected = t + k < 50 ? vector.X[n * 50 + t + k] : vector.Y[n * 10 + t + k - 50];
                        Assert.That(sequence.Y[(n * 50 + t) * 10 + k - 1], Is.EqualTo(expected), $"n={n} t={t} k={k}");
                    }
                }
            }
        }
    }

    [Test]
    public void NewSeries_Seed23_MatchesNumPy()
    {
        // np.random.seed(23); s = gen(1, 60); s[0, :50, 0]; s[0, 50:, 0]
        float[] xNew =
        [
            0.5794122f, 0.6443819f, 0.51376927f, 0.40398166f, 0.29508588f, 0.18647766f, 0.114657976f, 0.20958316f,
            0.21177655f, 0.105987966f, 0.012591819f, -0.13841419f, -0.36908704f, -0.6332701f, -0.7107055f, -0.6967662f,
            -0.5212352f, -0.35243154f, -0.20726249f, -0.06520823f, 0.11218932f, 0.053752244f, 0.078045934f, 0.08756984f,
            0.2113278f, 0.29740882f, 0.49740568f, 0.62421125f, 0.6261856f, 0.62601274f, 0.4230209f, 0.1899646f,
            0.024954751f, -0.20600668f, -0.3479528f, -0.33653975f, -0.30557314f, -0.25332347f, -0.2664472f, -0.3298007f,
            -0.45744303f, -0.53419274f, -0.53255934f, -0.4731463f, -0.29327092f, -0.004444217f, 0.24532549f, 0.41262433f,
            0.55857104f, 0.5706819f,
        ];
        float[] yNew =
        [
            0.44435865f, 0.33220106f, 0.2934745f, 0.30670446f, 0.25244227f,
            0.2941036f, 0.36294276f, 0.21080977f, 0.12937836f, -0.16400039f,
        ];

        DataSplit d = ChapterData.NewSeries();
        Assert.That(d.XShape, Is.EqualTo(new[] { 1, 50, 1 }));
        Assert.That(d.YShape, Is.EqualTo(new[] { 1, 10, 1 }));
        Assert.That(d.X, Is.EqualTo(xNew));
        Assert.That(d.Y, Is.EqualTo(yNew));
    }

    private static void AssertSplit(DataSplit split, int[] xShape, int[] yShape)
    {
        Assert.That(split.XShape, Is.EqualTo(xShape));
        Assert.That(split.YShape, Is.EqualTo(yShape));
        Assert.That(split.X, Has.Length.EqualTo(xShape.Aggregate(1, (a, b) => a * b)));
        Assert.That(split.Y, Has.Length.EqualTo(yShape.Aggregate(1, (a, b) => a * b)));
        Assert.That(split.Count, Is.EqualTo(xShape[0]));
    }

    /// <summary>numpy's float32 <c>pairwise_sum</c> (8-way unrolled blocks of at most 128), starting from 0.</summary>
    private static float NumPyPairwiseSum(ReadOnlySpan<float> a)
    {
        int n = a.Length;
        if (n < 8)
        {
            float res = 0f;
            foreach (float v in a)
            {
                res += v;
            }
            return res;
        }
        if (n <= 128)
        {
            Span<float> r = stackalloc float[8];
            a[..8].CopyTo(r);
            int i = 8;
            for (; i < n - n % 8; i += 8)
            {
                for (int j = 0; j < 8; j++)
                {
                    r[j] += a[i + j];
                }
            }
            float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for (; i < n; i++)
            {
                res += a[i];
            }
            return res;
        }
        int n2 = n / 2;
        n2 -= n2 % 8;
        return NumPyPairwiseSum(a[..n2]) + NumPyPairwiseSum(a[n2..]);
    }
}
