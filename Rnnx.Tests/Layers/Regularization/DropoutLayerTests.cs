using Rnnx.Diagnostics;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Random;
using Rnnx.Saving;
using Rnnx.Tests.Saving;
using Rnnx.Tests.TestUtilities;

namespace Rnnx.Tests.Layers.Regularization;

/// <summary>
/// Dropout, SpatialDropout1D and GaussianNoise with Keras 3's semantics (keras-team/keras,
/// keras/src/layers/regularization/dropout.py, spatial_dropout.py, gaussian_noise.py): inverted dropout scaled by
/// 1 / (1 − rate), active only while training; rates outside [0, 1) and stddev outside [0, 1] refused.
/// </summary>
public class DropoutLayerTests
{
    private static Tensor Ones(params int[] shape) => Tensor.Ones(new Shape(shape), DType.Float64);

    private static Tensor Random(uint seed, params int[] shape) => Tensor.FromArray(new NumPyRandomState(seed).Randn(shape), shape);

    [Test]
    public void RateZero_IsTheIdentityBitForBit()
    {
        var x = Random(1, 4, 5, 3);
        using var ctx = TrainingContext.Enter(new TrainingContext(7, 3, 0));
        Assert.That(new Dropout(0).Call(x, training: true).ToDoubleArray(), Is.EqualTo(x.ToDoubleArray()));
        Assert.That(new GaussianNoise(0).Call(x, training: true).ToDoubleArray(), Is.EqualTo(x.ToDoubleArray()));
    }

    [Test]
    public void Inference_PassesTheInputUnchanged()
    {
        var x = Random(2, 4, 5, 3);
        foreach (Layer layer in new Layer[] { new Dropout(0.5), new SpatialDropout1D(0.5), new GaussianNoise(0.5) })
            Assert.That(layer.Call(x, training: false).ToDoubleArray(), Is.EqualTo(x.ToDoubleArray()), layer.GetType().Name);
    }

    [TestCase(0.2)]
    [TestCase(0.5)]
    public void Mask_KeepsOneMinusRateScaledByItsInverse(double rate)
    {
        const int rows = 400, cols = 250;
        var y = new Dropout(rate).Call(Ones(rows, cols), training: true).ToDoubleArray();
        double scale = 1.0 / (1.0 - rate);
        Assert.That(y.All(v => v == 0 || v == scale), "every element is 0 or 1 / (1 − rate)");
        double kept = y.Count(v => v != 0) / (double)y.Length;
        double sigma = Math.Sqrt(rate * (1 - rate) / y.Length);
        Assert.That(kept, Is.EqualTo(1 - rate).Within(5 * sigma), "keep rate");
        Assert.That(y.Average(), Is.EqualTo(1.0).Within(5 * sigma * scale), "the mean is preserved");
    }

    [Test]
    public void Mask_IsFreshEveryStepAndEqualForTheSameStep()
    {
        var x = Ones(8, 20);
        var d = new Dropout(0.5, name: "d");
        double[] Draw(long step, long row)
        {
            using var ctx = TrainingContext.Enter(new TrainingContext(1, step, row));
            return d.Call(x, training: true).ToDoubleArray();
        }
        Assert.That(Draw(3, 0), Is.EqualTo(Draw(3, 0)));
        Assert.That(Draw(4, 0), Is.Not.EqualTo(Draw(3, 0)));
        // rows 4.. of a batch drawn from row 0 equal rows 0.. of a shard that starts at row 4
        Assert.That(Draw(3, 0).Skip(4 * 20).Take(4 * 20), Is.EqualTo(Draw(3, 4).Take(4 * 20)));
        // outside a context, every call draws anew (as Keras's seed generator)
        Assert.That(d.Call(x, training: true).ToDoubleArray(), Is.Not.EqualTo(d.Call(x, training: true).ToDoubleArray()));
    }

    [Test]
    public void NoiseShape_BroadcastsTheMask()
    {
        var y = new Dropout(0.5, noiseShape: [null, 1, null]).Call(Ones(6, 7, 5), training: true).ToDoubleArray();
        var s = new SpatialDropout1D(0.5).Call(Ones(6, 7, 5), training: true).ToDoubleArray();
        foreach (var v in new[] { y, s })
            for (int b = 0; b < 6; b++)
                for (int t = 1; t < 7; t++)
                    for (int f = 0; f < 5; f++)
                        Assert.That(v[(b * 7 + t) * 5 + f], Is.EqualTo(v[b * 7 * 5 + f]), "the same mask at every time step");
        Assert.That(y.Distinct().Count(), Is.EqualTo(2), "some dropped, some kept");
    }

    [Test]
    public void GaussianNoise_HasMeanZeroAndTheStddev()
    {
        var x = Tensor.Zeros(new Shape(500, 200), DType.Float64);
        var y = new GaussianNoise(0.3).Call(x, training: true).ToDoubleArray();
        double mean = y.Average(), sd = Math.Sqrt(y.Select(v => (v - mean) * (v - mean)).Average());
        Assert.That(mean, Is.EqualTo(0).Within(5 * 0.3 / Math.Sqrt(y.Length)));
        Assert.That(sd, Is.EqualTo(0.3).Within(0.003));
        double within1 = y.Count(v => Math.Abs(v) < 0.3) / (double)y.Length;
        Assert.That(within1, Is.EqualTo(0.6827).Within(0.005), "normal: 68.3% within one stddev");
    }

    [Test]
    public void BadArguments_AreRefusedNamingTheLayer()
    {
        foreach (var rate in new[] { -0.1, 1.0, 1.5, double.NaN })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new Dropout(rate))!;
            Assert.That(e.Message, Does.Contain("Dropout").And.Contain("[0, 1)"));
            var s = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new SpatialDropout1D(rate))!;
            Assert.That(s.Message, Does.Contain("SpatialDropout1D"));
        }
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => _ = new GaussianNoise(1.5))!.Message, Does.Contain("GaussianNoise"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => _ = new GaussianNoise(-1))!.Message, Does.Contain("GaussianNoise"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new Dropout(0.1, noiseShape: [null, 0]))!.Message, Does.Contain("Dropout"));
        var bad = Assert.Throws<ShapeMismatchException>(() => new Dropout(0.1, noiseShape: [null, 3, null]).Call(Ones(2, 4, 5), training: true))!;
        Assert.That(bad.Message, Does.Contain("dropout").And.Contain("(2, 4, 5)"));
        Assert.Throws<ShapeMismatchException>(() => new SpatialDropout1D(0.1).Call(Ones(2, 4), training: true));
    }

    [Test]
    public void Gradient_Float64_WithAFixedMask()
    {
        foreach (Layer layer in new Layer[] { new Dropout(0.4), new Dropout(0.3, noiseShape: [null, 1, null]), new SpatialDropout1D(0.5), new GaussianNoise(0.2) })
        {
            var x = Random(4, 3, 4, 5);
            // Every evaluation is the same training step, so the same mask.
            Tensor Step()
            {
                using var ctx = TrainingContext.Enter(new TrainingContext(3, 5, 0));
                return layer.Call(x, training: true);
            }
            var result = GradientChecker.Check(Step, GradientCheckOptions.Default with { Seed = 4 }, [x]);
            Assert.That(result.Elements, Is.EqualTo(x.Size), layer.GetType().Name);
        }
    }

    [Test]
    public void Config_RoundTripsThroughAModelFile()
    {
        var m = new Sequential(new Dense(4, inputShape: [null, 3]), new Dropout(0.25, noiseShape: [null, 1, null], seed: 9),
            new SpatialDropout1D(0.125), new GaussianNoise(0.5, seed: 3), new Dense(2));
        m.Build();
        var path = Path.Combine(TestModels.TempDir(), "dropout.rnnx");
        m.Save(path);
        var loaded = Sequential.Load(path);
        var d = (Dropout)loaded.Layers[1];
        Assert.That((d.Rate, d.Seed, d.NoiseShape), Is.EqualTo((0.25, (int?)9, (IReadOnlyList<int?>)new int?[] { null, 1, null })));
        var s = (SpatialDropout1D)loaded.Layers[2];
        Assert.That((s.Rate, s.Seed), Is.EqualTo((0.125, (int?)null)));
        var g = (GaussianNoise)loaded.Layers[3];
        Assert.That((g.Stddev, g.Seed), Is.EqualTo((0.5, (int?)3)));
        Assert.That(m.Layers[1].GetConfig().ToJson().ToJsonString(), Does.Contain("\"seed\":9").And.Contain("\"rate\":0.25"));
    }

    private static (Tensor X, Tensor Y) Data(int n)
    {
        var rng = new NumPyRandomState(11);
        return (Tensor.FromArray(rng.Randn(n, 6, 2).Select(v => (float)v).ToArray(), n, 6, 2),
                Tensor.FromArray(rng.Randn(n, 1).Select(v => (float)v).ToArray(), n, 1));
    }

    private static Sequential DropoutModel() => new(new Dense(8, "tanh", inputShape: [6, 2]), new Dropout(0.3), new GaussianNoise(0.1),
        new SpatialDropout1D(0.2), new Flatten(), new Dense(1)) { Seed = 5 };

    [Test]
    public void Fit_IsBitIdenticalAcrossThreadCounts()
    {
        var (x, y) = Data(70);
        float[][]? reference = null;
        // The shard count is part of the gradient arithmetic (Sequential.Shards); the noise itself does not depend on it
        // (Mask_IsFreshEveryStepAndEqualForTheSameStep), nor on the threads that run the shards.
        foreach (var (threads, shards) in new[] { (1, 4), (2, 4), (4, 4), (3, 4) })
        {
            var m = DropoutModel();
            m.Threads = threads;
            m.Shards = shards;
            m.Compile(new Adam(), Loss.MeanSquaredError);
            m.Fit(x, y, epochs: 2, batchSize: 16, verbose: 0);
            var w = m.GetWeights().Select(t => t.ToFloatArray()).ToArray();
            if (reference is null) reference = w;
            else
                for (int i = 0; i < w.Length; i++)
                    Assert.That(w[i], Is.EqualTo(reference[i]), $"threads {threads}, shards {shards}: weight {i}");
        }
    }

    [Test]
    public void Training_Drops_PredictAndEvaluate_DoNot()
    {
        var (x, y) = Data(20);
        var m = DropoutModel();
        m.Compile(new Adam(), Loss.MeanSquaredError);
        m.Build();
        var h = x;
        foreach (var layer in m.Layers.Where(l => l is not Dropout and not GaussianNoise)) h = layer.Call(h);
        Assert.That(m.Predict(x).ToFloatArray(), Is.EqualTo(h.ToFloatArray()), "Predict: no noise");
        double clean = Loss.MeanSquaredError.Compute(y, h).Item();
        Assert.That(m.Evaluate(x, y)["loss"], Is.EqualTo(clean).Within(1e-6), "Evaluate: no noise");
        Assert.That(m.TrainOnBatch(x, y), Is.Not.EqualTo(clean).Within(1e-4), "TrainOnBatch drops");
    }

    [Test]
    public void SteadyStateTrainingStep_AllocatesNothing()
    {
        var (x, y) = Data(32);
        var m = DropoutModel();
        m.Threads = 1;
        m.Compile(new Adam(), Loss.MeanSquaredError);
        long perStep = SteadyStateAllocation.BytesPerRun(() => m.TrainOnBatch(x, y), warmUps: 3, measured: 10).Max();
        Assert.That(perStep, Is.EqualTo(0), $"{perStep} bytes per training step");
    }
}
