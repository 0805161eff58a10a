using Rnnx.Layers;
using Rnnx.Models;

namespace Rnnx.Tests.Layers;

/// <summary>
/// Pooling and shape layers against the examples in Keras's docstrings (keras/src/layers/pooling/max_pooling1d.py,
/// average_pooling1d.py: x = [1, 2, 3, 4, 5], pool 2, strides 1), Keras's shapes, and their refusals.
/// </summary>
public class PoolingAndShapeLayerTests
{
    private static Tensor Ramp() => Tensor.FromArray(new float[] { 1, 2, 3, 4, 5 }, 1, 5, 1);

    private static float[] Run(Layer layer, Tensor x) => new Sequential(layer).Predict(x).ToFloatArray();

    [Test]
    public void MaxPooling1D_KerasDocstring()
    {
        Assert.That(Run(new MaxPooling1D(2, strides: 1, padding: "valid"), Ramp()), Is.EqualTo(new float[] { 2, 3, 4, 5 }));
        Assert.That(Run(new MaxPooling1D(2, strides: 1, padding: "same"), Ramp()), Is.EqualTo(new float[] { 2, 3, 4, 5, 5 }));
        Assert.That(Run(new MaxPooling1D(), Ramp()), Is.EqualTo(new float[] { 2, 4 }), "strides default to pool_size; the odd row is dropped");
    }

    [Test]
    public void AveragePooling1D_KerasDocstring()
    {
        Assert.That(Run(new AveragePooling1D(2, strides: 1, padding: "valid"), Ramp()), Is.EqualTo(new float[] { 1.5f, 2.5f, 3.5f, 4.5f }));
        // Same padding: the last window holds one real row and the pad is not counted (5, not 2.5).
        Assert.That(Run(new AveragePooling1D(2, strides: 1, padding: "same"), Ramp()), Is.EqualTo(new float[] { 1.5f, 2.5f, 3.5f, 4.5f, 5 }));
    }

    [Test]
    public void GlobalPooling_ReduceTheSteps()
    {
        var x = Tensor.FromArray(new float[] { 1, -1, 3, 5, 2, 0 }, 1, 3, 2);
        Assert.That(Run(new GlobalAveragePooling1D(), x), Is.EqualTo(new float[] { 2, 4f / 3 }).Within(1e-6f));
        Assert.That(Run(new GlobalMaxPooling1D(), x), Is.EqualTo(new float[] { 3, 5 }));
        Assert.That(new GlobalMaxPooling1D().ComputeOutputShape([null, 7]), Is.EqualTo(new int?[] { 7 }));
    }

    [Test]
    public void ReshapeAndPermute()
    {
        var x = Tensor.FromArray(Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), 1, 3, 4);
        var permuted = new Sequential(new Permute([2, 1], inputShape: [3, 4])).Predict(x);
        Assert.That(permuted.Shape, Is.EqualTo(new Shape(1, 4, 3)));
        Assert.That(permuted.ToFloatArray().Take(3), Is.EqualTo(new float[] { 0, 4, 8 }));
        var reshaped = new Sequential(new Reshape([-1, 6], inputShape: [3, 4])).Predict(x);
        Assert.That(reshaped.Shape, Is.EqualTo(new Shape(1, 2, 6)));
        Assert.That(new Reshape([2, -1]).ComputeOutputShape([3, 4]), Is.EqualTo(new int?[] { 2, 6 }));
    }

    [Test]
    public void BadArguments_AreRefusedNamingTheLayer()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPooling1D(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AveragePooling1D(2, strides: 0));
        Assert.That(Assert.Throws<ArgumentException>(() => new MaxPooling1D(2, padding: "causal"))!.Message, Does.Contain("MaxPooling1D"));
        Assert.Throws<ArgumentException>(() => new Reshape([2, -1, -1]));
        Assert.Throws<ArgumentException>(() => new Permute([1, 3]));
        var ex = Assert.Throws<ShapeMismatchException>(() => new Sequential(new MaxPooling1D(4, inputShape: [3, 1])).Build());
        Assert.That(ex!.Message, Does.Contain("pool_size 4"));
        Assert.Throws<ShapeMismatchException>(() => new Sequential(new Reshape([5], inputShape: [3, 4])).Build());
        Assert.Throws<ShapeMismatchException>(() => new Sequential(new Permute([2, 1], inputShape: [3])).Build());
    }

    [Test]
    public void PoolingStack_TrainsAndRoundTripsThroughSaving()
    {
        var r = new System.Random(5);
        var x = Tensor.FromArray(Enumerable.Range(0, 16 * 10 * 2).Select(_ => (float)r.NextDouble()).ToArray(), 16, 10, 2);
        var y = Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (float)(i % 3)).ToArray(), 16);
        var m = new Sequential([new Conv1D(4, 3, padding: "same", activation: "relu", inputShape: [10, 2]), new MaxPooling1D(2),
            new AveragePooling1D(2, padding: "same"), new GlobalAveragePooling1D(), new Dense(3, "softmax")], seed: 1);
        m.Compile(new Rnnx.Optimizers.Adam(), Rnnx.Losses.Loss.SparseCategoricalCrossentropy(), "accuracy");
        var h = m.Fit(x, y, epochs: 3, verbose: 0);
        Assert.That(h["loss"].All(double.IsFinite), Is.True);
        string path = Path.Combine(Path.GetTempPath(), $"rnnx-pool-{Guid.NewGuid():N}.rnnx");
        try
        {
            m.Save(path);
            var loaded = Sequential.Load(path);
            Assert.That(loaded.Predict(x).ToFloatArray(), Is.EqualTo(m.Predict(x).ToFloatArray()));
            Assert.That(loaded.Loss!.Name, Is.EqualTo("sparse_categorical_crossentropy"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void FromLogitsLoss_SurvivesSaving()
    {
        var m = new Sequential([new Dense(3, inputShape: [2])], seed: 1);
        m.Compile(new Rnnx.Optimizers.Adam(), Rnnx.Losses.Loss.CategoricalCrossentropy(fromLogits: true, labelSmoothing: 0.1), "accuracy");
        m.Build();
        string path = Path.Combine(Path.GetTempPath(), $"rnnx-logits-{Guid.NewGuid():N}.rnnx");
        try
        {
            m.Save(path);
            var loaded = Sequential.Load(path);
            Assert.That(loaded.Loss!.FromLogits, Is.True);
            Assert.That(loaded.Loss.LabelSmoothing, Is.EqualTo(0.1));
            Assert.That(loaded.Metrics.Select(x => x.Name), Is.EqualTo(new[] { "accuracy" }));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
