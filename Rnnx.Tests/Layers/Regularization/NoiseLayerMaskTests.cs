using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Random;

namespace Rnnx.Tests.Layers.Regularization;

/// <summary>
/// The noise layers with masks and with sharing, as Keras 3 (keras/src/layers/regularization/dropout.py,
/// gaussian_noise.py: <c>supports_masking = True</c>, and a <c>SeedGenerator</c> that advances at every call):
/// Dropout, SpatialDropout1D and GaussianNoise pass the incoming mask on unchanged, and a layer called twice in one
/// training step draws a fresh mask at each call.
/// </summary>
public class NoiseLayerMaskTests
{
    private static Layer[] NoiseLayers() => [new Dropout(0.3, name: "d"), new SpatialDropout1D(0.2, name: "sd"), new GaussianNoise(0.1, name: "gn")];

    [Test]
    public void NoiseLayers_PassTheMaskOnUnchanged()
    {
        var x = Tensor.FromArray(new NumPyRandomState(1).Randn(2, 4, 3), 2, 4, 3);
        var mask = Tensor.SequenceMask([3, 1], 4, DType.Float64);
        foreach (var layer in NoiseLayers())
        {
            Assert.That(layer.SupportsMasking, Is.True, layer.Name);
            Assert.That(layer.ComputeMask(x, mask)!.Value.IsSameTensor(mask), Is.True, $"{layer.Name}: the same mask goes on");
            Assert.That(layer.Call(x, mask, training: false).ToDoubleArray(), Is.EqualTo(x.ToDoubleArray()), $"{layer.Name}: identity at inference");
            double[] Train(Tensor? m)
            {
                using var ctx = TrainingContext.Enter(new TrainingContext(3, 1, 0));
                return layer.Call(x, m, training: true).ToDoubleArray();
            }
            var noisy = Train(mask);
            Assert.That(noisy, Is.Not.EqualTo(x.ToDoubleArray()), $"{layer.Name}: noise while training");
            Assert.That(noisy, Is.EqualTo(Train(null)), $"{layer.Name}: the mask does not change the noise (masked steps get it too, as Keras)");
        }
    }

    /// <summary>
    /// Behind Embedding(maskZero), noise layers keep the recurrent layer masked: the model predicts what the same
    /// model without them predicts (they are the identity at inference), which differs when the mask is lost.
    /// </summary>
    [Test]
    public void BehindEmbedding_TheRecurrentLayerStillSeesTheMask()
    {
        var ids = Tensor.FromArray(new double[] { 3, 1, 0, 0, 2, 4, 4, 0, 1, 0, 0, 0 }, 3, 4);
        var y = Tensor.FromArray(new double[] { 0.5, -0.2, 0.1 }, 3, 1);
        Sequential Make(bool noise) => new(
            noise
                ? [new Embedding(5, 3, maskZero: true), .. NoiseLayers(), new LSTM(4), new Dense(1)]
                : [new Embedding(5, 3, maskZero: true), new LSTM(4), new Dense(1)]) { Seed = 9 };
        var withNoise = Make(true);
        withNoise.Build([null], DType.Float64);
        var plain = Make(false);
        plain.Build([null], DType.Float64);
        plain.SetWeights(withNoise.GetWeights());
        Assert.That(withNoise.Predict(ids).ToDoubleArray(), Is.EqualTo(plain.Predict(ids).ToDoubleArray()));
        var unmasked = new Sequential([new Embedding(5, 3), new LSTM(4), new Dense(1)]);
        unmasked.Build([null], DType.Float64);
        unmasked.SetWeights(withNoise.GetWeights());
        Assert.That(unmasked.Predict(ids).ToDoubleArray(), Is.Not.EqualTo(plain.Predict(ids).ToDoubleArray()), "the mask matters here");
        withNoise.Compile(new Sgd(0.1), Loss.MeanSquaredError);
        Assert.That(double.IsFinite(withNoise.TrainOnBatch(ids, y)), Is.True, "training with the mask through the noise layers");
    }

    /// <summary>
    /// A layer called twice in one training step (a shared layer) draws a different mask at each call; the first call
    /// draws what a single call draws, and the same step drawn again gives the same pair (reproducible from the context).
    /// </summary>
    [Test]
    public void ASharedLayer_DrawsFreshNoiseAtEveryCallOfAStep()
    {
        var x = Tensor.Ones(new Shape(6, 5, 4), DType.Float64);
        foreach (var layer in NoiseLayers())
        {
            (double[] First, double[] Second) Step()
            {
                using var ctx = TrainingContext.Enter(new TrainingContext(11, 2, 0));
                return (layer.Call(x, training: true).ToDoubleArray(), layer.Call(x, training: true).ToDoubleArray());
            }
            double[] Single()
            {
                using var ctx = TrainingContext.Enter(new TrainingContext(11, 2, 0));
                return layer.Call(x, training: true).ToDoubleArray();
            }
            var (first, second) = Step();
            Assert.That(second, Is.Not.EqualTo(first), $"{layer.Name}: the second call draws anew");
            Assert.That(first, Is.EqualTo(Single()), $"{layer.Name}: the first call draws what a single call draws");
            var again = Step();
            Assert.That(again.First, Is.EqualTo(first), $"{layer.Name}: reproducible");
            Assert.That(again.Second, Is.EqualTo(second), $"{layer.Name}: reproducible");
        }
    }

    /// <summary>
    /// A context entered and left inside another does not reset the outer context's draws: a shared layer's next call
    /// after it draws what it would have drawn without the nested context, not its first draw again.
    /// </summary>
    [Test]
    public void ANestedContext_LeavesTheOuterDrawCountsAsTheyWere()
    {
        var x = Tensor.Ones(new Shape(6, 5, 4), DType.Float64);
        foreach (var layer in NoiseLayers())
        {
            double[] first, second;
            using (TrainingContext.Enter(new TrainingContext(11, 2, 0)))
            {
                first = layer.Call(x, training: true).ToDoubleArray();
                second = layer.Call(x, training: true).ToDoubleArray();
            }
            using var outer = TrainingContext.Enter(new TrainingContext(11, 2, 0));
            Assert.That(layer.Call(x, training: true).ToDoubleArray(), Is.EqualTo(first), $"{layer.Name}: first draw");
            using (TrainingContext.Enter(new TrainingContext(5, 9, 0)))
                Assert.That(layer.Call(x, training: true).ToDoubleArray(), Is.Not.EqualTo(first), $"{layer.Name}: the nested context draws its own");
            Assert.That(layer.Call(x, training: true).ToDoubleArray(), Is.EqualTo(second), $"{layer.Name}: after the nested context, the second draw");
        }
    }

    /// <summary>The same for a recurrent layer's dropout masks: a shared LSTM with dropout draws new masks at its second call.</summary>
    [Test]
    public void ASharedRecurrentLayer_DrawsFreshDropoutMasksAtEveryCall()
    {
        var lstm = new LSTM(3, dropout: 0.4, recurrentDropout: 0.4);
        lstm.Build([null, 2], DType.Float64, new NumPyRandomState(2));
        var x = Tensor.FromArray(new NumPyRandomState(3).Randn(4, 5, 2), 4, 5, 2);
        using var ctx = TrainingContext.Enter(new TrainingContext(5, 7, 0));
        var first = lstm.Call(x, training: true).ToDoubleArray();
        var second = lstm.Call(x, training: true).ToDoubleArray();
        Assert.That(second, Is.Not.EqualTo(first));
    }
}
