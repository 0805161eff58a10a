using Rnnx.Diagnostics;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Saving;

namespace Rnnx.Tests.Layers;

/// <summary>
/// Masking and Embedding (keras/src/layers/core/masking.py, embedding.py) and how their mask travels through a
/// Sequential model: layers that act per step pass it on, recurrent layers skip masked steps, GlobalAveragePooling1D
/// averages over unmasked steps, losses and metrics average over unmasked steps only, and layers that cannot use a
/// mask refuse it.
/// </summary>
public class MaskingLayerTests
{
    /// <summary>keras/src/layers/core/embedding_test.py's correctness case: table rows picked by id.</summary>
    [Test]
    public void Embedding_PicksRows()
    {
        var layer = new Embedding(3, 2);
        layer.Build([null]);
        layer.SetWeights(Tensor.FromArray(new float[] { 0, 0, 2, 2, 3, 3 }, 3, 2));
        var y = layer.Call(Tensor.FromArray(new float[] { 2, 1, 0 }, 1, 3));
        Assert.That(y.Shape, Is.EqualTo(new Shape(1, 3, 2)));
        Assert.That(y.ToFloatArray(), Is.EqualTo(new float[] { 3, 3, 2, 2, 0, 0 }));
        Assert.That(layer.NamedWeights().Single().Name, Is.EqualTo("embedding/embeddings"));
    }

    [Test]
    public void Embedding_DefaultInitializer_IsKerasUniform()
    {
        var layer = new Embedding(50, 8);
        layer.Build([null]);
        var v = layer.Embeddings.Value.ToDoubleArray();
        Assert.That(v.Min(), Is.GreaterThanOrEqualTo(-0.05));
        Assert.That(v.Max(), Is.LessThan(0.05));
        Assert.That(v.Max() - v.Min(), Is.GreaterThan(0.08), "spread over the whole range");
    }

    [Test]
    public void Embedding_MaskZero_MasksPadding()
    {
        var layer = new Embedding(5, 2, maskZero: true);
        var ids = Tensor.FromArray(new float[] { 3, 1, 0, 0, 4, 0 }, 2, 3);
        layer.Call(ids);
        Assert.That(layer.ComputeMask(ids, null)!.Value.ToFloatArray(), Is.EqualTo(new float[] { 1, 1, 0, 0, 1, 0 }));
        Assert.That(new Embedding(5, 2).ComputeMask(ids, null), Is.Null, "without mask_zero there is no mask");
    }

    [TestCase(7f, "(1, 2)", "is not below inputDim 5")]
    [TestCase(-1f, "(1, 2)", "is negative")]
    [TestCase(1.5f, "(1, 2)", "is not a whole number")]
    [TestCase(float.NaN, "(1, 2)", "is NaN")]
    public void Embedding_BadIds_AreRefusedWithIdPositionAndInputDim(float bad, string position, string what)
    {
        var layer = new Embedding(5, 2, name: "tokens");
        var ids = Tensor.FromArray(new float[] { 1, 2, 3, 4, 0, bad }, 2, 3);
        var ex = Assert.Throws<ArgumentException>(() => layer.Call(ids));
        Assert.That(ex!.Message, Does.Contain("tokens").And.Contain(position).And.Contain(what).And.Contain("inputDim 5"));
        Assert.That(layer.IsBuilt, Is.True);
        var before = layer.Embeddings.Value.ToFloatArray();
        Assert.Throws<ArgumentException>(() => new Sequential(layer).Predict(ids));
        Assert.That(layer.Embeddings.Value.ToFloatArray(), Is.EqualTo(before), "weights unchanged");
    }

    [Test]
    public void Embedding_GradientCheck_Float64()
    {
        var layer = new Embedding(6, 3);
        layer.Build([null], DType.Float64);
        var ids = Tensor.FromArray(new double[] { 5, 0, 2, 2, 1, 5, 3, 3 }, 2, 4);
        var result = GradientChecker.Check(() => Tensor.Sum(Tensor.Square(layer.Call(ids))), GradientCheckOptions.Default, layer.Embeddings.Value);
        Assert.That(result.Elements, Is.EqualTo(18));
    }

    /// <summary>
    /// Float64 central differences of a masked loss through Embedding(maskZero) → GRU(sequences) → TimeDistributed(Dense)
    /// → GlobalAveragePooling1D, and through Masking → LSTM(sequences) with a per-step MSE masked as Keras, with respect
    /// to every weight (the mask is carried layer to layer exactly as Sequential does).
    /// </summary>
    [Test]
    public void MaskedStacks_GradientCheck_Float64()
    {
        var ids = Tensor.FromArray(new double[] { 3, 1, 4, 0, 0, 2, 0, 0, 0, 0, 1, 2, 3, 4, 1 }, 3, 5);
        var values = Enumerable.Range(0, 3 * 4 * 2).Select(i => 0.2 + Math.Sin(i)).ToArray();
        foreach (int i in new[] { 0, 1, 6, 7 }) values[i] = 0;   // sample 0: steps 0 and 3 masked
        var x = Tensor.FromArray(values, 3, 4, 2);
        var targets = Tensor.Full(new Shape(3, 4, 2), 0.3, DType.Float64);
        var cases = new (Layer[] Layers, Tensor Input, bool MaskedLoss)[]
        {
            ([new Embedding(5, 3, maskZero: true), new GRU(3, returnSequences: true), new TimeDistributed(new Dense(2)), new GlobalAveragePooling1D()], ids, false),
            ([new Masking(), new LSTM(2, returnSequences: true)], x, true),
        };
        foreach (var (layers, input, maskedLoss) in cases)
        {
            Tensor Run()
            {
                Tensor h = input;
                Tensor? mask = null;
                foreach (var l in layers)
                {
                    var y = l.Call(h, mask, training: true);
                    mask = l.ComputeMask(h, mask);
                    h = y;
                }
                return maskedLoss ? Loss.MeanSquaredError.Compute(targets, h, null, mask) : Tensor.Sum(Tensor.Square(h));
            }
            Run();   // builds the layers in float64
            var weights = layers.SelectMany(l => l.Weights).ToList();
            var result = GradientChecker.Check(Run, weights, GradientCheckOptions.Default);
            Assert.That(result.Elements, Is.EqualTo(weights.Sum(p => p.Size)));
        }
    }

    /// <summary>
    /// keras/src/layers/core/masking_test.py, test_masking_correctness: x [[[0, 0], [1, 2], [0, 0]], [[2, 2], [0, 0], [2, 1]]]
    /// gives the mask [[F, T, F], [T, F, T]]; and with another value, masked steps' features become 0.
    /// </summary>
    [Test]
    public void Masking_MasksStepsWhoseFeaturesAllEqualTheValue()
    {
        var keras = Tensor.FromArray(new float[] { 0, 0, 1, 2, 0, 0, 2, 2, 0, 0, 2, 1 }, 2, 3, 2);
        Assert.That(new Masking().ComputeMask(keras, null)!.Value.ToFloatArray(), Is.EqualTo(new float[] { 0, 1, 0, 1, 0, 1 }));
        var x = Tensor.FromArray(new float[] { 0, 0, 1, 2, 0, 0, 2, 2, 0, 1, 7, 7 }, 2, 3, 2);
        var masking = new Masking();
        Assert.That(masking.ComputeMask(x, null)!.Value.ToFloatArray(), Is.EqualTo(new float[] { 0, 1, 0, 1, 1, 1 }));
        var withValue = new Masking(7);
        var y = withValue.Call(x);
        Assert.That(withValue.ComputeMask(x, null)!.Value.ToFloatArray(), Is.EqualTo(new float[] { 1, 1, 1, 1, 1, 0 }));
        Assert.That(y.ToFloatArray()[10..], Is.EqualTo(new float[] { 0, 0 }), "a masked step's features are zeroed");
        Assert.That(y.ToFloatArray()[..10], Is.EqualTo(x.ToFloatArray()[..10]));
    }

    /// <summary>
    /// keras/src/layers/core/masking.py's docstring: with steps 3 and 5 set to the mask value, an LSTM after Masking
    /// skips them, so its output is the LSTM's on the sequence without those steps.
    /// </summary>
    [Test]
    public void Masking_ThenLstm_SkipsTheMaskedSteps([Values(false, true)] bool fused)
    {
        var r = new System.Random(3);
        var data = Enumerable.Range(0, 2 * 8 * 3).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        for (int b = 0; b < 2; b++)
            foreach (int t in new[] { 3, 5 })
                for (int f = 0; f < 3; f++) data[(b * 8 + t) * 3 + f] = 0;
        var lstm = new LSTM(4) { UseFusedKernel = fused };
        var model = new Sequential([new Masking(inputShape: [null, 3]), lstm], seed: 7);
        var masked = model.Predict(Tensor.FromArray(data, 2, 8, 3)).ToFloatArray();
        var kept = Enumerable.Range(0, 2 * 8).Where(i => i % 8 is not (3 or 5)).SelectMany(i => data.Skip(i * 3).Take(3)).ToArray();
        var plain = new Sequential([new LSTM(4, inputShape: [null, 3])], seed: 7);
        plain.Build();
        plain.SetWeights(model.GetWeights());
        var shortened = plain.Predict(Tensor.FromArray(kept, 2, 6, 3)).ToFloatArray();
        Assert.That(masked, Is.EqualTo(shortened).Within(1e-6f));
    }

    /// <summary>
    /// Recurrent dropout on masked sequences (training): the fused masked op takes both, and a padded sample's final
    /// state and gradients are those of its own steps: padding after the sequence changes nothing.
    /// </summary>
    [Test]
    public void DropoutWithMask_TrainsOnTheUnmaskedStepsOnly()
    {
        var ids = Tensor.FromArray(new float[] { 1, 2, 3, 0, 0, 4, 2, 0, 0, 0 }, 2, 5);
        var model = new Sequential([new Embedding(5, 3, maskZero: true), new LSTM(4, dropout: 0.2, recurrentDropout: 0.3), new Dense(1)], seed: 4);
        model.Compile(new Rnnx.Optimizers.Adam(), Loss.MeanSquaredError);
        var y = Tensor.FromArray(new float[] { 0.5f, -0.5f }, 2, 1);
        model.Shards = 1;
        double loss = model.TrainOnBatch(ids, y);
        Assert.That(double.IsFinite(loss), Is.True);
        // The same data padded to 8 steps trains to the same weights (masked steps are skipped; masks drawn per sample row).
        var wider = Tensor.FromArray(new float[] { 1, 2, 3, 0, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0, 0, 0 }, 2, 8);
        var twin = new Sequential([new Embedding(5, 3, maskZero: true), new LSTM(4, dropout: 0.2, recurrentDropout: 0.3), new Dense(1)], seed: 4);
        twin.Compile(new Rnnx.Optimizers.Adam(), Loss.MeanSquaredError);
        twin.Shards = 1;
        twin.TrainOnBatch(wider, y);
        var a = model.GetWeights().SelectMany(w => w.ToFloatArray()).ToArray();
        var b = twin.GetWeights().SelectMany(w => w.ToFloatArray()).ToArray();
        Assert.That(b, Is.EqualTo(a).Within(1e-6f));
    }

    [Test]
    public void GlobalAveragePooling1D_AveragesUnmaskedStepsOnly()
    {
        var x = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 1, 3, 2);
        var mask = Tensor.FromArray(new float[] { 1, 1, 0 }, 1, 3);
        var pool = new GlobalAveragePooling1D();
        Assert.That(pool.Call(x, mask).ToFloatArray(), Is.EqualTo(new float[] { 2, 3 }));
        Assert.That(pool.ComputeMask(x, mask), Is.Null, "the time axis and its mask are pooled away");
    }

    [Test]
    public void LayersThatCannotUseAMask_RefuseItNamingTheLayer()
    {
        var ids = Tensor.FromArray(new float[] { 1, 2, 0, 0 }, 1, 4);
        foreach (var layer in new Layer[] { new Conv1D(2, 2, name: "conv"), new Flatten(name: "flat"), new MaxPooling1D(2, name: "maxpool"), new GlobalMaxPooling1D(name: "gmax") })
        {
            var model = new Sequential([new Embedding(3, 2, maskZero: true, inputLength: 4), layer]);
            var ex = Assert.Throws<ArgumentException>(() => model.Predict(ids));
            Assert.That(ex!.Message, Does.Contain(layer.Name).And.Contain(layer.GetType().Name).And.Contain("cannot take a mask").And.Contain("(1, 4)"));
        }
        // Without mask_zero the same stacks run.
        Assert.That(new Sequential([new Embedding(3, 2, inputLength: 4), new Flatten()]).Predict(ids).Shape, Is.EqualTo(new Shape(1, 8)));
    }

    [Test]
    public void Mask_PassesThroughDenseAndTimeDistributed_ToTheLoss()
    {
        // A per-step regression; the padded steps' targets are wild, so any leak into the loss shows.
        var ids = Tensor.FromArray(new float[] { 1, 2, 0, 3, 0, 0 }, 2, 3);
        var y = Tensor.FromArray(new float[] { 0.1f, 0.2f, 100, 0.3f, -100, 100 }, 2, 3, 1);
        var model = new Sequential([new Embedding(4, 2, maskZero: true), new LSTM(3, returnSequences: true), new TimeDistributed(new Dense(2)),
            new ActivationLayer(Activation.Tanh), new Dense(1)], seed: 3);
        model.Compile(new Rnnx.Optimizers.Adam(), Loss.MeanSquaredError, Rnnx.Metrics.Metric.MeanAbsoluteError);
        var pred = model.Predict(ids).ToFloatArray();
        var result = model.Evaluate(ids, y, batchSize: 2);
        int[] kept = [0, 1, 3];
        double sq = kept.Sum(i => Math.Pow(pred[i] - y.ToFloatArray()[i], 2)), ab = kept.Sum(i => Math.Abs(pred[i] - y.ToFloatArray()[i]));
        // Keras: Σ over unmasked / (valid + 1e-7), computed in float32.
        Assert.That(result["loss"], Is.EqualTo(sq / (3 + 1e-7)).Within(1e-5));
        Assert.That(result["mae"], Is.EqualTo(ab / 3).Within(1e-5));
    }

    /// <summary>
    /// Keras divides a batch's masked loss once, by the batch's unmasked count: with the batch cut into shards of unequal
    /// unmasked counts, every shard count gives that loss, the same gradients (updated weights) and Evaluate's value.
    /// </summary>
    [Test]
    public void MaskedLoss_IsTheBatchMean_WhateverTheShards()
    {
        // Five sequences of 1 to 4 unmasked steps; wild targets on padded steps show any leak.
        var ids = Tensor.FromArray(new double[] { 1, 2, 3, 4, 2, 0, 0, 0, 3, 1, 0, 0, 4, 4, 4, 0, 1, 0, 0, 0 }, 5, 4);
        var y = Tensor.FromArray(new double[] { 0.1, -0.2, 0.3, 0.4, 0.5, 50, -50, 50, -0.1, 0.2, 9, 9, 0.3, 0.1, -0.4, 7, 0.6, 8, 8, 8 }, 5, 4, 1);
        int[] kept = [0, 1, 2, 3, 4, 8, 9, 12, 13, 14, 16];
        Model Make(int shards)
        {
            var m = new Sequential([new Embedding(5, 2, maskZero: true), new LSTM(3, returnSequences: true), new TimeDistributed(new Dense(1))], seed: 6);
            m.Build([null], DType.Float64);
            m.Compile(new Rnnx.Optimizers.Sgd(0.5), Loss.MeanSquaredError, Rnnx.Metrics.Metric.MeanAbsoluteError);
            m.Shards = shards;
            return m;
        }
        var reference = Make(1);
        var pred = reference.Predict(ids).ToDoubleArray();
        var yv = y.ToDoubleArray();
        double keras = kept.Sum(i => Math.Pow(pred[i] - yv[i], 2)) / (kept.Length + 1e-7);
        double evaluated = reference.Evaluate(ids, y, batchSize: 5)["loss"];
        Assert.That(evaluated, Is.EqualTo(keras).Within(1e-12));
        double[]? weights1 = null;
        foreach (int shards in new[] { 1, 2, 3 })
        {
            var m = Make(shards);
            double loss = m.TrainOnBatch(ids, y);
            Assert.That(loss, Is.EqualTo(keras).Within(1e-12), $"Shards = {shards}");
            var w = m.GetWeights().SelectMany(t => t.ToDoubleArray()).ToArray();
            weights1 ??= w;
            Assert.That(w, Is.EqualTo(weights1).Within(1e-12), $"Shards = {shards}");
            Assert.That(w, Is.Not.EqualTo(reference.GetWeights().SelectMany(t => t.ToDoubleArray()).ToArray()), "the step moved the weights");
        }
        // The two-phase masked step allocates nothing once warm (shards on the calling thread, whose allocations count).
        var warm = Make(2);
        warm.Threads = 1;
        long perStep = Rnnx.Tests.TestUtilities.SteadyStateAllocation.BytesPerRun(() => warm.TrainOnBatch(ids, y), warmUps: 3, measured: 10).Max();
        Assert.That(perStep, Is.Zero, $"{perStep} bytes per masked training step");
        // Fit's metric is batch-wide too: Σ over unmasked |error| / unmasked count, whatever the shards.
        double mae = kept.Sum(i => Math.Abs(pred[i] - yv[i])) / kept.Length;
        foreach (int shards in new[] { 1, 3 })
        {
            var h = Make(shards).Fit(ids, y, epochs: 1, batchSize: 5, shuffle: false, verbose: 0);
            Assert.That(h["loss"][0], Is.EqualTo(keras).Within(1e-12), $"Shards = {shards}");
            Assert.That(h["mae"][0], Is.EqualTo(mae).Within(1e-12), $"Shards = {shards}");
        }
    }

    [Test]
    public void LossMasking_FollowsKerasApplyMask_WithSampleWeights()
    {
        var values = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2, 1);
        var zeros = Tensor.Zeros(new Shape(2, 2, 1));
        var mask = Tensor.FromArray(new float[] { 1, 0, 1, 1 }, 2, 2);
        var sw = Tensor.FromArray(new float[] { 2, 0.5f }, 2);
        // MSE per step: 1, 4, 9, 16; weights m · 4 / (3 + 1e-7) · sw → (2·1 + 0.5·(9 + 16)) / 3 (keras/src/losses/loss.py apply_mask).
        var loss = Loss.MeanSquaredError.Compute(zeros, values, sw, mask).Item();
        Assert.That(loss, Is.EqualTo((2 * 1 + 0.5 * (9 + 16)) / (3 + 1e-7)).Within(1e-5));
        var (sum, count) = Rnnx.Metrics.Metric.MeanSquaredError.Evaluate(zeros, values, null, mask);
        Assert.That(sum / count, Is.EqualTo((1 + 9 + 16) / 3.0).Within(1e-6));
    }

    [Test]
    public void MaskSettings_SurviveSaveAndLoad()
    {
        var model = new Sequential([new Embedding(6, 3, maskZero: true, inputLength: 4), new GRU(2)], seed: 2);
        model.Compile(new Rnnx.Optimizers.Adam(), Loss.MeanSquaredError);
        var ids = Tensor.FromArray(new float[] { 1, 5, 0, 0, 2, 0, 0, 0 }, 2, 4);
        var before = model.Predict(ids).ToFloatArray();
        var maskedModel = new Sequential([new Masking(-1.5, inputShape: [null, 2]), new SimpleRNN(2)], seed: 2);
        maskedModel.Build();
        string path = Path.Combine(Path.GetTempPath(), $"rnnx-mask-{Guid.NewGuid():N}.rnnx"), path2 = path + "2";
        try
        {
            model.Save(path);
            var loaded = Sequential.Load(path);
            var emb = (Embedding)loaded.Layers[0];
            Assert.That((emb.InputDim, emb.OutputDim, emb.MaskZero, emb.InputLength), Is.EqualTo((6, 3, true, (int?)4)));
            Assert.That(loaded.Predict(ids).ToFloatArray(), Is.EqualTo(before));
            maskedModel.Save(path2);
            Assert.That(((Masking)Sequential.Load(path2).Layers[0]).MaskValue, Is.EqualTo(-1.5));
        }
        finally
        {
            File.Delete(path);
            File.Delete(path2);
        }
    }
}
