using Rnnx.Layers;
using Rnnx.Random;
using static Rnnx.Tests.Layers.Recurrent.RecurrentTestUtil;

namespace Rnnx.Tests.Layers.Recurrent;

/// <summary>
/// Keras's <c>stateful=True</c> on one layer: a sequence fed in consecutive chunks gives what the whole sequence gives
/// (the final states of a chunk are the initial states of the next), the carried states are values (no gradient
/// reaches the previous chunk), <c>ResetStates</c> starts over, and a batch of another size is refused.
/// </summary>
public class StatefulLayerTests
{
    private static readonly CellKind[] Kinds = [CellKind.SimpleTanh, CellKind.Lstm, CellKind.GruResetAfter, CellKind.GruResetBefore];

    private static RNN MakeStateful(CellKind kind, int units, int batchSize) => kind switch
    {
        CellKind.SimpleTanh => new SimpleRNN(units, returnSequences: true, stateful: true, batchSize: batchSize),
        CellKind.Lstm => new LSTM(units, returnSequences: true, stateful: true, batchSize: batchSize),
        CellKind.GruResetAfter => new GRU(units, resetAfter: true, returnSequences: true, stateful: true, batchSize: batchSize),
        _ => new GRU(units, resetAfter: false, returnSequences: true, stateful: true, batchSize: batchSize),
    };

    private static Tensor Steps(Tensor x, int from, int to) => Tensor.Slice(x, 1, from, to);

    [Test, Combinatorial]
    public void ChunksEqualTheWholeSequence([ValueSource(nameof(Kinds))] CellKind kind, [Values(false, true)] bool fused)
    {
        var whole = Make(kind, 4, returnSequences: true);
        var stateful = MakeStateful(kind, 4, batchSize: 3);
        BuildRandom(whole, 2, DType.Float64, seed: 5);
        BuildRandom(stateful, 2, DType.Float64, seed: 5);
        whole.UseFusedKernel = stateful.UseFusedKernel = fused;
        var x = RandomTensor(new NumPyRandomState(6), DType.Float64, 1.0, 3, 9, 2);

        var expected = whole.Run(x);
        var first = stateful.Call(Steps(x, 0, 4));
        var second = stateful.Call(Steps(x, 4, 9));

        AssertClose(first.ToDoubleArray(), Steps(expected.Output, 0, 4).ToDoubleArray(), 1e-12, 1e-13, "first chunk");
        AssertClose(second.ToDoubleArray(), Steps(expected.Output, 4, 9).ToDoubleArray(), 1e-12, 1e-13, "second chunk");
        var carried = stateful.GetStates();
        for (int i = 0; i < carried.Length; i++)
            AssertClose(carried[i].ToDoubleArray(), expected.States[i].ToDoubleArray(), 1e-12, 1e-13, $"state {i}");
    }

    [Test]
    public void TheFirstRunOfAnUnbuiltLayerMovesTheStatesOnce([ValueSource(nameof(Kinds))] CellKind kind)
    {
        // Both build from NumPyRandomState(0): the unbuilt one inside Run, the other by Build, so their weights match.
        var unbuilt = MakeStateful(kind, 3, batchSize: 2);
        var prebuilt = MakeStateful(kind, 3, batchSize: 2);
        prebuilt.Build([null, 2], DType.Float64);
        var x = RandomTensor(new NumPyRandomState(9), DType.Float64, 1.0, 2, 5, 2);

        var (output, states) = unbuilt.Run(x);
        var (expectedOutput, expectedStates) = prebuilt.Run(x);

        Assert.That(output.ToDoubleArray(), Is.EqualTo(expectedOutput.ToDoubleArray()), "output");
        var carried = unbuilt.GetStates();
        var expectedCarried = prebuilt.GetStates();
        for (int i = 0; i < carried.Length; i++)
        {
            Assert.That(states[i].ToDoubleArray(), Is.EqualTo(expectedStates[i].ToDoubleArray()), $"returned state {i}");
            Assert.That(carried[i].ToDoubleArray(), Is.EqualTo(expectedCarried[i].ToDoubleArray()), $"carried state {i}");
        }
        var again = MakeStateful(kind, 3, batchSize: 2);
        var withState = again.CallWithState(x);
        Assert.That(withState[0].ToDoubleArray(), Is.EqualTo(expectedOutput.ToDoubleArray()), "CallWithState on an unbuilt layer");
    }

    [Test]
    public void ResetStatesStartsOver([ValueSource(nameof(Kinds))] CellKind kind)
    {
        var plain = Make(kind, 3, returnSequences: true);
        var stateful = MakeStateful(kind, 3, batchSize: 2);
        BuildRandom(plain, 2, DType.Float32, seed: 7);
        BuildRandom(stateful, 2, DType.Float32, seed: 7);
        var x = RandomTensor(new NumPyRandomState(8), DType.Float32, 1.0, 2, 5, 2);

        var fresh = stateful.Call(x).ToFloatArray();
        var continued = stateful.Call(x).ToFloatArray();
        Assert.That(continued, Is.Not.EqualTo(fresh), "the second call starts from the first call's final states");
        stateful.ResetStates();
        Assert.That(stateful.GetStates().SelectMany(s => s.ToFloatArray()), Is.All.EqualTo(0f));
        Assert.That(stateful.Call(x).ToFloatArray(), Is.EqualTo(fresh));
        Assert.That(plain.Call(x).ToFloatArray(), Is.EqualTo(fresh), "a fresh stateful layer starts from zeros, as a plain one");
    }

    [Test]
    public void NoGradientReachesThePreviousBatch([ValueSource(nameof(Kinds))] CellKind kind, [Values(false, true)] bool fused)
    {
        var stateful = MakeStateful(kind, 3, batchSize: 2);
        var plain = Make(kind, 3, returnSequences: true);
        BuildRandom(stateful, 2, DType.Float64, seed: 9);
        BuildRandom(plain, 2, DType.Float64, seed: 9);
        stateful.UseFusedKernel = plain.UseFusedKernel = fused;
        var rng = new NumPyRandomState(10);
        var x1 = RandomTensor(rng, DType.Float64, 1.0, 2, 4, 2);
        var x2 = RandomTensor(rng, DType.Float64, 1.0, 2, 4, 2).RequireGrad();
        stateful.Call(x1);
        var carried = stateful.GetStates();   // constants: what the second batch starts from

        // The stateful layer's second batch has the gradients of a plain layer started from those constants.
        var expected = RecurrentTestUtil.Run(plain, x2, carried.Select(t => t.Copy().RequireGrad()).ToArray(), fused, useStates: false);
        using var tape = new Tape();
        using (tape.Activate())
        {
            var y = stateful.Call(x2);
            var g = tape.Backward(Probe(y, 11));
            Assert.That(y.ToDoubleArray(), Is.EqualTo(expected.Output));
            Assert.That(g[x2].ToDoubleArray(), Is.EqualTo(expected.Grads[0].Values), "input gradient");
            for (int i = 0; i < stateful.Weights.Count; i++)
                Assert.That(g[stateful.Weights[i]].ToDoubleArray(), Is.EqualTo(expected.Grads[i + 1].Values), stateful.Weights[i].Name);
        }
    }

    [Test]
    public void ABatchOfAnotherSizeIsRefusedNamingTheLayerAndBothSizes()
    {
        var layer = new LSTM(3, stateful: true, batchSize: 4, name: "carry");
        var x4 = RandomTensor(new NumPyRandomState(1), DType.Float32, 1.0, 4, 5, 2);
        layer.Call(x4);
        var before = layer.GetStates().Select(s => s.ToFloatArray()).ToArray();
        var ex = Assert.Throws<ShapeMismatchException>(() => layer.Call(RandomTensor(new NumPyRandomState(2), DType.Float32, 1.0, 3, 5, 2)));
        Assert.That(ex!.Message, Does.Contain("carry").And.Contain("batch size 4").And.Contain("batch of 3"));
        Assert.That(layer.GetStates().Select(s => s.ToFloatArray()), Is.EqualTo(before), "the states are unchanged");
    }

    [Test]
    public void AStatefulLayerWithoutABatchSizeSaysHowToGiveOne()
    {
        var layer = new GRU(3, stateful: true, name: "nobatch");
        var ex = Assert.Throws<InvalidOperationException>(() => layer.Call(Tensor.Zeros(new Shape(2, 4, 1))));
        Assert.That(ex!.Message, Does.Contain("nobatch").And.Contain("batchSize"));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new SimpleRNN(3, stateful: true, batchSize: 0));
    }

    [Test]
    public void SetStatesChecksShapesAndChangesNothingOnError()
    {
        var layer = new LSTM(3, stateful: true, batchSize: 2, name: "lstm_s");
        layer.Build([null, 1]);
        var h = Tensor.Full(new Shape(2, 3), 0.5);
        var c = Tensor.Full(new Shape(2, 3), -0.25);
        var ex = Assert.Throws<ShapeMismatchException>(() => layer.SetStates(h, Tensor.Zeros(new Shape(3, 3))));
        Assert.That(ex!.Message, Does.Contain("lstm_s").And.Contain("(2, 3)"));
        Assert.That(layer.GetStates().SelectMany(s => s.ToFloatArray()), Is.All.EqualTo(0f));
        Assert.Throws<ArgumentException>(() => layer.SetStates(h));
        layer.SetStates(h, c);
        Assert.That(layer.GetStates()[1].ToFloatArray(), Is.All.EqualTo(-0.25f));
        Assert.Throws<InvalidOperationException>(() => new LSTM(3).ResetStates());
    }

    [Test]
    public void ConfigKeepsStatefulAndTheBatchSize()
    {
        var layer = new GRU(3, stateful: true, batchSize: 5);
        var config = layer.GetConfig();
        Assert.That(config.GetBool("stateful"), Is.True);
        Assert.That(config.GetInt("batch_size"), Is.EqualTo(5));
        Assert.That(new GRU(3).GetConfig().GetBool("stateful"), Is.False, "Keras writes stateful: false");
        Assert.That(new GRU(3).GetConfig().Contains("batch_size"), Is.False);
    }
}
