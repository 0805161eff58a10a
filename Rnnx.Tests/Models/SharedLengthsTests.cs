using Rnnx.Diagnostics;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Saving;
using Rnnx.Tests.Saving;
using Rnnx.Tests.TestUtilities;

namespace Rnnx.Tests.Models;

/// <summary>
/// One recurrent layer called on sequences of different lengths in one graph, as Keras allows (a layer is built once,
/// from its first call; later calls only need inputs its weights fit: keras/src/layers/layer.py, Layer.__call__ builds
/// on the first call and checks input_spec, which for RNN fixes only the feature axis,
/// keras/src/layers/rnn/rnn.py <c>InputSpec(shape=(None, None, feature))</c> after build).
/// </summary>
public class SharedLengthsTests
{
    private static (Model Model, LSTM Encoder, Dense Head) EncoderOnTwoLengths(int seed = 3)
    {
        var longer = new Input([50, 1], name: "long");
        var shorter = new Input([20, 1], name: "short");
        var encoder = new LSTM(4, name: "shared_encoder");
        var head = new Dense(1, name: "head");
        var joined = new Concatenate().ApplyMany(encoder.Apply(longer), encoder.Apply(shorter))[0];
        return (new Model([longer, shorter], [head.Apply(joined)], seed: seed), encoder, head);
    }

    private static Tensor[] Data(int n, uint seed)
    {
        var r = new RandomTensors(seed);
        return [r.Uniform(new Shape(n, 50, 1), -1, 1), r.Uniform(new Shape(n, 20, 1), -1, 1)];
    }

    [Test]
    public void ASharedEncoderRunsOnBothLengthsWithOneWeightSet()
    {
        var (m, encoder, head) = EncoderOnTwoLengths();
        m.Build(dtype: DType.Float64);
        Assert.That(m.CountParams(), Is.EqualTo(4 * (4 * (1 + 4 + 1)) + (8 + 1)), "one LSTM(4) on one feature and a Dense(1) on 8");
        var x = Data(5, 1);
        var expected = head.Call(Tensor.Concat(-1, encoder.Call(x[0]), encoder.Call(x[1]))).ToDoubleArray();
        Assert.That(m.Predict(x)[0].ToDoubleArray(), Is.EqualTo(expected).Within(1e-15));

        // Gradients of both calls add up in the shared weights (float64 check against finite differences).
        var y = Tensor.FromArray(new double[] { 0.1, -0.2, 0.3, 0.0, 0.5 }, 5, 1);
        var check = GradientChecker.Check(() => Loss.MeanSquaredError.Compute(y, m.CallMany(x, training: true)[0], null, null), m.Weights);
        Assert.That(check.Elements, Is.EqualTo(m.CountParams()));

        m.Compile(new Adam(0.01), Loss.MeanSquaredError);
        var h = m.Fit(Data(32, 2), [Tensor.Zeros(new Shape(32, 1), DType.Float64)], epochs: 2, batchSize: 8, verbose: 0);
        Assert.That(h["loss"][1], Is.LessThan(h["loss"][0]));

        string dir = TestModels.TempDir();
        try
        {
            string path = Path.Combine(dir, "shared.rnnx");
            m.Save(path);
            var loaded = Model.Load(path);
            Assert.That(loaded.Predict(x)[0].ToDoubleArray(), Is.EqualTo(m.Predict(x)[0].ToDoubleArray()));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void CallsOnAnUnknownAndAKnownLengthKeepTheirOwnShapes()
    {
        var any = new Input([null, 1], name: "any");
        var twenty = new Input([20, 1], name: "twenty");
        var encoder = new GRU(3, returnSequences: true, name: "shared_gru");
        var (a, b) = (encoder.Apply(any), encoder.Apply(twenty));
        Assert.That(a.ShapeArray, Is.EqualTo(new int?[] { null, 3 }));
        Assert.That(b.ShapeArray, Is.EqualTo(new int?[] { 20, 3 }));
        var pooled = new Concatenate().ApplyMany(new GlobalAveragePooling1D().Apply(a), new GlobalAveragePooling1D().Apply(b))[0];
        var m = new Model([any, twenty], [pooled]);
        m.Build();
        Assert.That(m.Summary(), Does.Contain("shared_gru (GRU)").And.Contain("multiple"));
        var r = new RandomTensors(4);
        var out50 = m.Predict([r.Uniform(new Shape(2, 50, 1)).Copy(DType.Float32), r.Uniform(new Shape(2, 20, 1)).Copy(DType.Float32)])[0];
        Assert.That(out50.Shape, Is.EqualTo(new Shape(2, 6)));

        // Only the time axis may differ: another feature size is refused naming the layer and both shapes.
        var ex = Assert.Throws<ShapeMismatchException>(() => encoder.Apply(new Input([20, 2])));
        Assert.That(ex!.Message, Does.Contain("shared_gru").And.Contain("(None, None, 1)").And.Contain("(None, 20, 2)"));
    }
}
