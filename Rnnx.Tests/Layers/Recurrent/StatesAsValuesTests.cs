using Rnnx.Diagnostics;
using Rnnx.Layers;
using Rnnx.Random;
using static Rnnx.Tests.Layers.Recurrent.RecurrentTestUtil;

namespace Rnnx.Tests.Layers.Recurrent;

/// <summary>
/// The multi-input/multi-output layer contract on recurrent layers (Keras's functional <c>initial_state</c> and
/// <c>return_state</c>): <see cref="Layer.CallMany(IReadOnlyList{Tensor}, bool)"/> takes [x, states...] and gives
/// [y, final states...], and an encoder's final states feed a decoder with gradients through them, fused or composed.
/// </summary>
public class StatesAsValuesTests
{
    private static RNN Make(string kind, int units, bool returnSequences, bool returnState) => kind switch
    {
        "simple" => new SimpleRNN(units, returnSequences: returnSequences, returnState: returnState),
        "lstm" => new LSTM(units, returnSequences: returnSequences, returnState: returnState),
        _ => new GRU(units, returnSequences: returnSequences, returnState: returnState),
    };

    [Test]
    public void CallManyGivesTheOutputThenTheFinalStates([Values("simple", "lstm", "gru")] string kind)
    {
        var layer = Make(kind, 3, returnSequences: true, returnState: true);
        BuildRandom(layer, 2, DType.Float64, seed: 5);
        var rng = new NumPyRandomState(6);
        var x = RandomTensor(rng, DType.Float64, 1.0, 4, 5, 2);
        var init = layer.Cell.StateSizes.Select(s => RandomTensor(rng, DType.Float64, 0.5, 4, s)).ToArray();

        var outputs = layer.CallMany([x, .. init]);
        var (y, states) = layer.Run(x, init);

        Assert.That(layer.OutputCount, Is.EqualTo(1 + init.Length));
        Assert.That(outputs[0].ToDoubleArray(), Is.EqualTo(y.ToDoubleArray()));
        for (int i = 0; i < states.Length; i++) Assert.That(outputs[1 + i].ToDoubleArray(), Is.EqualTo(states[i].ToDoubleArray()));
        var shapes = layer.ComputeOutputShapes([[null, 2], .. layer.Cell.StateSizes.Select(s => new int?[] { s })]);
        Assert.That(shapes.Select(Layer.ShapeText), Is.EqualTo(new[] { "(None, 3)" }.Concat(init.Select(_ => "(3,)"))));
    }

    [Test]
    public void WithoutReturnStateOnlyTheOutputComesBack()
    {
        var layer = new LSTM(3);
        var x = Tensor.Ones(new Shape(2, 4, 1));
        var outputs = layer.CallMany([x, Tensor.Zeros(new Shape(2, 3)), Tensor.Zeros(new Shape(2, 3))]);
        Assert.That(outputs, Has.Length.EqualTo(1));
        Assert.That(outputs[0].ToFloatArray(), Is.EqualTo(layer.Call(x).ToFloatArray()));
    }

    /// <summary>encoder RNN(return_state) → decoder RNN(initial_state = encoder states): gradients of inputs, states' sources and weights.</summary>
    [Test, Combinatorial]
    public void EncoderDecoderGradientsFlowThroughTheStates([Values("simple", "lstm", "gru")] string kind, [Values(true, false)] bool fused)
    {
        var encoder = Make(kind, 3, returnSequences: false, returnState: true);
        var decoder = Make(kind, 3, returnSequences: true, returnState: false);
        BuildRandom(encoder, 2, DType.Float64, seed: 11);
        BuildRandom(decoder, 1, DType.Float64, seed: 12);
        encoder.UseFusedKernel = decoder.UseFusedKernel = fused;
        var rng = new NumPyRandomState(13);
        var x = RandomTensor(rng, DType.Float64, 1.0, 2, 4, 2);
        var xd = RandomTensor(rng, DType.Float64, 1.0, 2, 3, 1);
        var states = new Tensor[encoder.OutputCount];
        var decoded = new Tensor[1];

        Tensor Loss()
        {
            encoder.CallMany([x], states, training: true);
            decoder.CallMany([xd, .. states.AsSpan(1)], decoded, training: true);
            return Probe(decoded[0], 3) + Probe(states[0], 4);
        }
        var wrt = new[] { x, xd }.Concat(encoder.Weights.Select(p => p.Value)).Concat(decoder.Weights.Select(p => p.Value)).ToArray();
        var result = GradientChecker.Check(Loss, wrt);
        Assert.That(result.Elements, Is.EqualTo(x.Size + xd.Size + encoder.CountParams() + decoder.CountParams()));
    }

    [Test]
    public void WrongNumberOfInitialStatesNamesTheLayerAndTheShapes()
    {
        var layer = new LSTM(4, name: "decoder");
        var x = Tensor.Ones(new Shape(2, 3, 1));
        var ex = Assert.Throws<ShapeMismatchException>(() => layer.CallMany([x, Tensor.Zeros(new Shape(2, 4))]));
        Assert.That(ex!.Message, Does.Contain("decoder").And.Contain("2 initial state(s)").And.Contain("(None, 4), (None, 4)").And.Contain("got 1"));

        var wrongSize = Assert.Throws<ShapeMismatchException>(() => layer.CallMany([x, Tensor.Zeros(new Shape(2, 4)), Tensor.Zeros(new Shape(2, 5))]));
        Assert.That(wrongSize!.Message, Does.Contain("decoder").And.Contain("initial state 1 must be (None, 4), got (None, 5)"));
        Assert.That(layer.IsBuilt, Is.False, "a refused call leaves the layer unbuilt");
    }

    [Test]
    public void SingleInputLayersRefuseSeveralInputsNamingTheLayer()
    {
        var dense = new Dense(2, name: "head");
        var a = Tensor.Ones(new Shape(2, 3));
        var ex = Assert.Throws<ShapeMismatchException>(() => dense.CallMany([a, a]));
        Assert.That(ex!.Message, Does.Contain("head").And.Contain("takes one input, got 2").And.Contain("(3,), (3,)"));
        Assert.Throws<ArgumentException>(() => dense.CallMany([a], new Tensor[2]));
    }
}
