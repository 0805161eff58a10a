using Rnnx.Diagnostics;
using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Random;
using static Rnnx.Tests.Layers.Recurrent.RecurrentTestUtil;

namespace Rnnx.Tests.Layers.Recurrent;

/// <summary>
/// Bidirectional against Keras 3 (keras-team/keras at 17dff27b keras/src/layers/rnn/bidirectional.py and
/// bidirectional_test.py): golden values, shapes and weight counts from the Keras tests (each case names its test
/// function), the equivalence with a hand-built forward layer plus a go_backwards layer whose output is flipped back
/// into time order, float64 gradient checks, fused == composed, and the checks Keras makes on its arguments.
/// </summary>
public class BidirectionalTests
{
    /// <summary>
    /// Keras's constant initializers on one direction's weights: kernel <paramref name="k"/>, recurrent <paramref name="r"/>,
    /// bias <paramref name="b"/> (for LSTM with unit_forget_bias Keras concatenates b·U, ones(U), b·2U).
    /// </summary>
    private static void SetConstant(RNN layer, double k, double r, double b)
    {
        var w = layer.Weights;
        w[0].Assign(Tensor.Full(w[0].Shape, k));
        w[1].Assign(Tensor.Full(w[1].Shape, r));
        if (w.Count < 3) return;
        var bias = Enumerable.Repeat(b, w[2].Size).ToArray();
        if (layer is LSTM && layer.Cell is LSTMCell { UnitForgetBias: true } cell)
            for (int i = cell.Units; i < 2 * cell.Units; i++) bias[i] = 1.0;
        w[2].Assign(Tensor.FromArray(bias, w[2].Shape.ToArray()));
    }

    private static Bidirectional BuildConstant(Bidirectional layer, int features)
    {
        layer.Build([null, features]);
        SetConstant(layer.ForwardLayer, 0.01, 0.02, 0.03);
        if (layer.BackwardLayer.Name.StartsWith("backward_", StringComparison.Ordinal) && layer.BackwardLayer.Cell is not SimpleRNNCell { Activation.Name: "relu" })
            SetConstant(layer.BackwardLayer, 0.01, 0.02, 0.03);
        return layer;
    }

    private static double[] Rows(params double[][] rows) => rows.SelectMany(r => r).ToArray();

    /// <summary>Every output through the fused kernels and the composed step loops, off and on a recording tape.</summary>
    private static void CheckOutputs(Bidirectional layer, Tensor x, Tensor[]? init, double tol, params double[][] expected)
    {
        foreach (bool fused in new[] { true, false })
            foreach (bool onTape in new[] { false, true })
            {
                layer.UseFusedKernel = fused;
                using var tape = new Tape();
                Tensor[] outputs;
                if (onTape)
                    using (tape.Activate()) outputs = layer.Run(x, init);
                else outputs = layer.Run(x, init);
                Assert.That(outputs, Has.Length.EqualTo(expected.Length));
                for (int i = 0; i < expected.Length; i++)
                    AssertClose(outputs[i].ToDoubleArray(), expected[i], tol, tol, $"output {i} ({(fused ? "fused" : "composed")}{(onTape ? ", on a tape" : "")})");
            }
    }

    // bidirectional_test.py, test_correctness: SimpleRNN(2) with constant initializers, input arange(24) (2, 3, 4).
    [Test]
    public void KerasCorrectnessSimpleRnnMergeModes()
    {
        var x = Arange(2, 3, 4);
        CheckOutputs(BuildConstant(new Bidirectional(new SimpleRNN(2)), 4), x, null, 1e-6,
            Rows([0.39687276, 0.39687276, 0.10004295, 0.10004295], [0.7237238, 0.7237238, 0.53391594, 0.53391594]));
        CheckOutputs(BuildConstant(new Bidirectional(new SimpleRNN(2), mergeMode: "ave"), 4), x, null, 1e-6,
            Rows([0.24845785, 0.24845785], [0.6288199, 0.6288199]));
        CheckOutputs(BuildConstant(new Bidirectional(new SimpleRNN(2), mergeMode: null), 4), x, null, 1e-6,
            Rows([0.39687276, 0.39687276], [0.7237238, 0.7237238]), Rows([0.10004295, 0.10004295], [0.53391594, 0.53391594]));

        // An explicit backward layer: kernel 0.03, recurrent 0.02, bias 0.01, merge_mode "mul".
        var mul = new Bidirectional(new SimpleRNN(2), mergeMode: "mul", backwardLayer: new SimpleRNN(2, goBackwards: true));
        BuildConstant(mul, 4);
        SetConstant(mul.BackwardLayer, 0.03, 0.02, 0.01);
        CheckOutputs(mul, x, null, 1e-6, Rows([0.08374989, 0.08374989], [0.6740834, 0.6740834]));
    }

    // bidirectional_test.py, test_correctness: GRU(2, return_sequences=True), merge_mode "sum".
    [Test]
    public void KerasCorrectnessGruSequencesSum()
    {
        var layer = BuildConstant(new Bidirectional(new GRU(2, returnSequences: true), mergeMode: "sum"), 4);
        CheckOutputs(layer, Arange(2, 3, 4), null, 1e-6, Rows(
            [0.20937867, 0.20937867], [0.34462988, 0.34462988], [0.40290534, 0.40290534],
            [0.59829646, 0.59829646], [0.6734641, 0.6734641], [0.6479671, 0.6479671]));
    }

    // bidirectional_test.py, test_pass_initial_state: LSTM(2), input arange(24) (2, 4, 3), initial states arange(4) (2, 2)
    // times 1, 2 (forward h, c), 3, 4 (backward h, c).
    [Test]
    public void KerasInitialStateFirstHalfForward()
    {
        var layer = BuildConstant(new Bidirectional(new LSTM(2)), 3);
        Tensor[] init = [.. new[] { 1.0, 2, 3, 4 }.Select(s => Arange(2, 2) * s)];
        CheckOutputs(layer, Arange(2, 4, 3), init, 1e-6,
            Rows([0.20794602, 0.4577124, 0.14046375, 0.48191673], [0.6682636, 0.6711909, 0.60943645, 0.60950446]));
    }

    // bidirectional_test.py, test_return_state: LSTM(2, return_state=True) gives output, h1, c1, h2, c2.
    [Test]
    public void KerasReturnState()
    {
        var layer = BuildConstant(new Bidirectional(new LSTM(2, returnState: true)), 3);
        Assert.That(layer.OutputCount, Is.EqualTo(5));
        CheckOutputs(layer, Arange(2, 4, 3), null, 1e-6,
            Rows([0.1990008, 0.1990008, 0.12659755, 0.12659755], [0.52335435, 0.52335435, 0.44717982, 0.44717982]),
            Rows([0.1990008, 0.1990008], [0.52335435, 0.52335435]),
            Rows([0.35567185, 0.35567185], [1.0492687, 1.0492687]),
            Rows([0.12659755, 0.12659755], [0.44717982, 0.44717982]),
            Rows([0.2501858, 0.2501858], [0.941473, 0.941473]));
    }

    // bidirectional_test.py, test_basics (output (3, 8), 6 trainable weights) and test_output_shape (every merge mode,
    // with and without return_state: each output's shape is compute_output_shape's).
    [Test]
    public void KerasShapesAndWeightCounts([Values("concat", "sum", "mul", "ave", null)] string? mergeMode, [Values(false, true)] bool returnState)
    {
        var layer = new Bidirectional(new LSTM(2, returnState: returnState), mergeMode);
        var x = Tensor.FromArray(new float[] { 101, 202, 303, 404 }, 1, 2, 2);
        var outputs = layer.Run(x);
        var shapes = layer.ComputeOutputShapes([[2, 2]]);
        Assert.That(outputs, Has.Length.EqualTo(shapes.Count).And.Length.EqualTo(layer.OutputCount));
        for (int i = 0; i < outputs.Length; i++)
            Assert.That(outputs[i].Shape.ToArray(), Is.EqualTo(new[] { 1 }.Concat(shapes[i].Select(d => d!.Value)).ToArray()), $"output {i}");

        var basics = new Bidirectional(new SimpleRNN(4));
        Assert.That(basics.Call(Tensor.Zeros(new Shape(3, 2, 4))).Shape, Is.EqualTo(new Shape(3, 8)));
        Assert.That(basics.TrainableWeights, Has.Count.EqualTo(6));
    }

    [Test]
    public void KerasNamesWeightOrderAndParameterCounts()
    {
        var model = new Sequential(new Bidirectional(new LSTM(20, returnSequences: true), inputShape: [null, 1]), new Bidirectional(new LSTM(20)), new Dense(10));
        model.Build();
        var bi = (Bidirectional)model.Layers[0];
        Assert.That(bi.ForwardLayer.Name, Is.EqualTo("forward_lstm"));
        Assert.That(bi.BackwardLayer.Name, Is.EqualTo("backward_lstm"));
        Assert.That(bi.BackwardLayer.GoBackwards, Is.True);
        Assert.That(model.NamedWeights().Take(6).Select(w => w.Name), Is.EqualTo(new[]
        {
            "bidirectional/forward_lstm/kernel", "bidirectional/forward_lstm/recurrent_kernel", "bidirectional/forward_lstm/bias",
            "bidirectional/backward_lstm/kernel", "bidirectional/backward_lstm/recurrent_kernel", "bidirectional/backward_lstm/bias",
        }));
        // Keras: 2 · 4·20·(1 + 20 + 1) = 3,520 and 2 · 4·20·(40 + 20 + 1) = 9,760; Dense(10) on 40 features 410.
        Assert.That(model.Layers.Select(l => l.CountParams()), Is.EqualTo(new[] { 3520, 9760, 410 }));
        string summary = model.Summary();
        Assert.That(summary, Does.Contain("bidirectional (Bidirectional)").And.Contain("(None, None, 40)").And.Contain("3,520")
            .And.Contain("bidirectional_1 (Bidirectional)").And.Contain("9,760").And.Contain("Total params: 13,690"));
    }

    /// <summary>
    /// The wrapper equals a forward layer and a go_backwards layer with the same weights, the backward output re-reversed
    /// step by step (Select and Stack, not the Flip op under test) and merged by hand: bit for bit.
    /// </summary>
    [Test]
    public void EqualsAHandBuiltForwardAndReversedBackwardPair([Values(CellKind.SimpleTanh, CellKind.Lstm, CellKind.GruResetAfter)] CellKind kind,
        [Values("concat", "sum", "mul", "ave")] string mergeMode, [Values(false, true)] bool returnSequences)
    {
        var bi = new Bidirectional(Make(kind, 3, returnSequences), mergeMode);
        bi.Build([null, 2]);
        var forward = Make(kind, 3, returnSequences);
        var backward = Make(kind, 3, returnSequences, goBackwards: true);
        BuildRandom(forward, 2, DType.Float32, 5);
        BuildRandom(backward, 2, DType.Float32, 6);
        bi.SetWeights([.. forward.GetWeights(), .. backward.GetWeights()]);
        var x = RandomTensor(new NumPyRandomState(7), DType.Float32, 1.0, 3, 5, 2);

        var y = forward.Call(x);
        var yr = backward.Call(x);
        if (returnSequences) yr = Tensor.Stack(1, [.. Enumerable.Range(0, 5).Select(t => Tensor.Select(yr, 1, 4 - t))]);
        var expected = mergeMode switch
        {
            "concat" => Tensor.Concat(-1, y, yr),
            "sum" => y + yr,
            "mul" => y * yr,
            _ => (y + yr) / 2.0,
        };
        Assert.That(bi.Call(x).ToFloatArray(), Is.EqualTo(expected.ToFloatArray()));
    }

    /// <summary>Float64 central differences of every output (probe loss) w.r.t. the input, all weights and all initial states.</summary>
    [Test, Combinatorial]
    public void FloatSixtyFourGradientCheck([Values(CellKind.SimpleTanh, CellKind.Lstm, CellKind.GruResetAfter)] CellKind kind,
        [Values("concat", "sum", "mul", "ave", null)] string? mergeMode, [Values(false, true)] bool returnSequences, [Values(false, true)] bool fused)
    {
        var inner = kind == CellKind.Lstm ? new LSTM(3, returnSequences: returnSequences, returnState: true)
            : kind == CellKind.SimpleTanh ? new SimpleRNN(3, returnSequences: returnSequences, returnState: true)
            : (RNN)new GRU(3, returnSequences: returnSequences, returnState: true);
        var layer = new Bidirectional(inner, mergeMode) { UseFusedKernel = fused };
        layer.Build([null, 2], DType.Float64, new NumPyRandomState(40));
        var rng = new NumPyRandomState(41);
        foreach (var p in layer.Weights) p.Assign(RandomTensor(rng, DType.Float64, 0.6, p.Shape.ToArray()));
        var x = RandomTensor(rng, DType.Float64, 1.0, 2, 4, 2).RequireGrad();
        int states = 2 * inner.Cell.StateSizes.Count;
        var init = Enumerable.Range(0, states).Select(_ => RandomTensor(rng, DType.Float64, 0.7, 2, 3).RequireGrad()).ToArray();

        Tensor Loss()
        {
            var outputs = layer.Run(x, init);
            var l = Probe(outputs[0], 11);
            for (int i = 1; i < outputs.Length; i++) l += Probe(outputs[i], 20 + (uint)i);
            return l;
        }
        var result = GradientChecker.Check(Loss, GradientCheckOptions.Default with { RecordNumeric = false },
            [x, .. layer.Weights.Select(p => p.Value), .. init]);
        Assert.That(result.Elements, Is.EqualTo(x.Size + layer.CountParams() + init.Sum(s => s.Size)));
    }

    /// <summary>The fused and composed paths agree in every output and gradient (float64, to round-off).</summary>
    [Test]
    public void FusedEqualsComposed([Values(CellKind.SimpleTanh, CellKind.Lstm, CellKind.GruResetAfter)] CellKind kind, [Values(false, true)] bool returnSequences)
    {
        var layer = new Bidirectional(Make(kind, 4, returnSequences));
        layer.Build([null, 3], DType.Float64, new NumPyRandomState(3));
        var x = RandomTensor(new NumPyRandomState(4), DType.Float64, 1.0, 3, 6, 3).RequireGrad();
        (double[] Y, double[][] G) Pass(bool fused)
        {
            layer.UseFusedKernel = fused;
            using var tape = new Tape();
            using (tape.Activate())
            {
                var y = layer.Call(x);
                var g = tape.Backward(Probe(y, 9));
                return (y.ToDoubleArray(), [g[x].ToDoubleArray(), .. layer.Weights.Select(p => g[p].ToDoubleArray())]);
            }
        }
        var f = Pass(true);
        var c = Pass(false);
        AssertClose(f.Y, c.Y, 1e-12, 1e-12, "output");
        for (int i = 0; i < f.G.Length; i++) AssertClose(f.G[i], c.G[i], 1e-11, 1e-11, $"gradient {i}");
    }

    [Test]
    public void FlipReversesOneAxisAndItsGradient()
    {
        var x = Tensor.FromArray(new double[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 }, 2, 3, 2).RequireGrad();
        Assert.That(Tensor.Flip(x, 1).ToDoubleArray(), Is.EqualTo(new double[] { 4, 5, 2, 3, 0, 1, 10, 11, 8, 9, 6, 7 }));
        Assert.That(Tensor.Flip(x, -1).ToDoubleArray(), Is.EqualTo(new double[] { 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10 }));
        GradientChecker.Check(() => Probe(Tensor.Flip(x, 1), 3) + Probe(Tensor.Flip(x, 0) * x, 4), x);
    }

    // bidirectional.py, __init__ and _verify_layer_config: the arguments Keras refuses, named with the layer and shapes.
    [Test]
    public void BadArgumentsAreRefusedNamingTheLayers()
    {
        var notRecurrent = Assert.Throws<ArgumentException>(() => new Bidirectional(new Dense(3, name: "dense_7")))!;
        Assert.That(notRecurrent.Message, Does.Contain("bidirectional").And.Contain("'dense_7' is a Dense").And.Contain("recurrent layer"));

        var mode = Assert.Throws<ArgumentException>(() => new Bidirectional(new LSTM(2), mergeMode: "max", name: "bi"))!;
        Assert.That(mode.Message, Does.StartWith("bi: invalid merge mode 'max'").And.Contain("\"concat\", \"sum\", \"mul\", \"ave\", or null"));

        var sameDirection = Assert.Throws<ArgumentException>(() => new Bidirectional(new LSTM(2), backwardLayer: new LSTM(2, name: "back")))!;
        Assert.That(sameDirection.Message, Does.Contain("'forward_lstm'").And.Contain("'back'").And.Contain("different go_backwards"));

        var sequences = Assert.Throws<ArgumentException>(() =>
            new Bidirectional(new GRU(2, returnSequences: true), backwardLayer: new GRU(2, goBackwards: true, name: "back")))!;
        Assert.That(sequences.Message, Does.Contain("same return_sequences").And.Contain("True and False"));

        var states = Assert.Throws<ArgumentException>(() =>
            new Bidirectional(new GRU(2, returnState: true), backwardLayer: new GRU(2, goBackwards: true, name: "back")))!;
        Assert.That(states.Message, Does.Contain("same return_state"));

        var sizes = Assert.Throws<ShapeMismatchException>(() =>
            new Bidirectional(new LSTM(4, returnSequences: true), mergeMode: "sum", backwardLayer: new LSTM(3, returnSequences: true, goBackwards: true, name: "back")))!;
        Assert.That(sizes.Message, Does.Contain("merge mode 'sum'").And.Contain("'forward_lstm' gives (batch, time, 4)").And.Contain("'back' gives (batch, time, 3)"));

        // Keras sets go_backwards on the copy: a wrapped layer that already goes backwards leaves no forward direction.
        Assert.That(() => new Bidirectional(new LSTM(2, goBackwards: true)), Throws.ArgumentException.With.Message.Contain("both have True"));
    }

    [Test]
    public void BadInputsAreRefusedNamingTheLayerAndShapes()
    {
        var layer = new Bidirectional(new LSTM(2), name: "bi");
        var unbuilt = Assert.Throws<ShapeMismatchException>(() => layer.Call(Tensor.Zeros(new Shape(2, 3))))!;
        Assert.That(unbuilt.Message, Does.StartWith("bi: expects input (batch, time, features) with known features, got (batch, 3)"));
        var x = Tensor.Zeros(new Shape(2, 4, 3));
        layer.Call(x);
        var rank = Assert.Throws<ShapeMismatchException>(() => layer.Call(Tensor.Zeros(new Shape(2, 3))))!;
        Assert.That(rank.Message, Does.StartWith("bi: expects input (batch, time, features), got (2, 3)"));
        var count = Assert.Throws<ShapeMismatchException>(() => layer.Run(x, [Tensor.Zeros(new Shape(2, 2))]))!;
        Assert.That(count.Message, Does.StartWith("bi: expects 4 initial states (2 for 'forward_lstm', then 2 for 'backward_lstm'), got 1"));
        var symbolic = Assert.Throws<ShapeMismatchException>(() => new Bidirectional(new LSTM(2), name: "bi2").ApplyMany(new Input([null, 3]), new Input([2]), new Input([5]), new Input([2]), new Input([2])))!;
        Assert.That(symbolic.Message, Does.Contain("forward_lstm").And.Contain("initial state 1 must be (None, 2), got (None, 5)"));
        var shape = Assert.Throws<ShapeMismatchException>(() => layer.Run(x, [.. Enumerable.Range(0, 3).Select(_ => Tensor.Zeros(new Shape(2, 2))), Tensor.Zeros(new Shape(2, 5))]))!;
        Assert.That(shape.Message, Does.Contain("backward_lstm").And.Contain("initial state 1 must be (2, 2), got (2, 5)"));
        var features = Assert.Throws<ShapeMismatchException>(() => layer.Call(Tensor.Zeros(new Shape(2, 4, 5))))!;
        Assert.That(features.Message, Does.Contain("expects 3 features per step, got input (2, 4, 5)"));

        var twoOutputs = new Bidirectional(new LSTM(2), mergeMode: null, name: "pair");
        var seq = new Sequential(twoOutputs, new Dense(1));
        seq.Build([null, 3]);
        var single = Assert.Throws<InvalidOperationException>(() => seq.Predict(x))!;
        Assert.That(single.Message, Does.Contain("pair: with merge mode null the layer has 2 outputs").And.Contain("no merged one"));
    }

    /// <summary>
    /// In a functional model: a Bidirectional LSTM encoder with return_state gives its merged output and both directions'
    /// states (ApplyMany); the states are a decoder Bidirectional's initial states (extra inputs, forward first); the model
    /// equals running the layers by hand, and gradients reach the encoder through the states.
    /// </summary>
    [Test]
    public void EncoderStatesFeedADecoderInAFunctionalModel()
    {
        var x = new Input([null, 2]);
        var encoder = new Bidirectional(new LSTM(3, returnState: true), name: "encoder");
        var (encoded, hf, cf, hb, cb) = encoder.ApplyMany(x) switch { var o => (o[0], o[1], o[2], o[3], o[4]) };
        var decoder = new Bidirectional(new LSTM(3, returnSequences: true), "sum", name: "decoder");
        var decoded = decoder.ApplyMany(x, hf, cf, hb, cb)[0];
        var model = new Model(x, decoded);
        model.Build();
        Assert.That(model.Summary(), Does.Contain("encoder (Bidirectional)").And.Contain("decoder (Bidirectional)"));

        var xs = RandomTensor(new NumPyRandomState(8), DType.Float32, 1.0, 4, 6, 2);
        var byHand = encoder.Run(xs);
        Assert.That(byHand, Has.Length.EqualTo(5));
        Assert.That(byHand[0].Shape, Is.EqualTo(new Shape(4, 6)), "the merged (concat) encoding");
        Assert.That(model.Call(xs).ToFloatArray(), Is.EqualTo(decoder.Run(xs, byHand[1..])[0].ToFloatArray()));

        // Gradients reach the encoder through the decoder's initial states alone (the decoder's output is the only loss).
        using var tape = new Tape();
        using (tape.Activate())
        {
            var states = encoder.Run(xs)[1..];
            var g = tape.Backward(Tensor.Mean(Tensor.Square(decoder.Run(xs, states)[0])));
            Assert.That(encoder.Weights.All(p => g[p].ToFloatArray().Any(v => v != 0)), "every encoder weight gets a gradient");
        }
    }

    /// <summary>A functional model whose Bidirectional layers pass states saves and loads: same config, weights and outputs.</summary>
    [Test]
    public void FunctionalModelWithStatesSavesAndLoads()
    {
        var x = new Input([null, 2]);
        var o = new Bidirectional(new GRU(3, returnState: true), mergeMode: null, name: "encoder").ApplyMany(x);   // [y, y_rev, h_f, h_b]
        var decoded = new Bidirectional(new GRU(3), "mul", name: "decoder").ApplyMany(x, o[2], o[3])[0];
        var model = new Model(x, new Dense(1).Apply(new Concatenate().ApplyMany(decoded, o[0], o[1])[0])) { Seed = 4 };
        model.Build();
        string path = Path.Combine(Path.GetTempPath(), $"rnnx-bidirectional-{Guid.NewGuid():N}.rnnx");
        try
        {
            Rnnx.Saving.ModelIO.Save(model, path);
            var loaded = Rnnx.Saving.ModelIO.LoadModel(path, compile: false);
            var encoder = (Bidirectional)loaded.Layers.Single(l => l.Name == "encoder");
            Assert.That((encoder.MergeMode, encoder.ReturnState, encoder.ForwardLayer.Name, encoder.BackwardLayer.Name),
                Is.EqualTo(((string?)null, true, "forward_gru", "backward_gru")));
            Assert.That(loaded.NamedWeights().Select(w => w.Name), Is.EqualTo(model.NamedWeights().Select(w => w.Name)));
            var xs = RandomTensor(new NumPyRandomState(9), DType.Float32, 1.0, 3, 5, 2);
            Assert.That(loaded.Predict(xs).ToFloatArray(), Is.EqualTo(model.Predict(xs).ToFloatArray()));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void TrainsInASequentialModel()
    {
        var model = new Sequential(new Bidirectional(new LSTM(4, returnSequences: true), inputShape: [null, 1]), new Bidirectional(new GRU(3), "ave"), new Dense(1));
        model.Compile(new Rnnx.Optimizers.Adam(0.01), Losses.Loss.MeanSquaredError);
        var rng = new NumPyRandomState(1);
        var x = RandomTensor(rng, DType.Float32, 1.0, 32, 8, 1);
        var y = Tensor.Sum(x, keepDims: false, 1) * 0.1;   // (32, 1)
        var history = model.Fit(x, y, epochs: 15, batchSize: 8, verbose: 0);
        var loss = history["loss"];
        Assert.That(loss[^1], Is.LessThan(0.5 * loss[0]), "training reduces the loss");
    }
}
