using Rnnx.Layers;
using Rnnx.Models;

namespace Rnnx.Tests.Models;

/// <summary>
/// Bad data is rejected with a clear message before any training step (the weights are untouched), and a loss that
/// becomes non-finite stops training with <see cref="TrainingDivergedException"/>, leaving the weights from before
/// the failing step.
/// </summary>
public class FitValidationTests
{
    private static (Tensor X, Tensor Y) OneStep(int n) => ChapterSlices.Take(ChapterSlices.OneStep.Train, n);

    private static Sequential CompiledRnn()
    {
        var m = ChapterModels.DeepRnn();
        m.Build();
        m.Compile(new TestSgd(0.01), "mse");
        return m;
    }

    /// <summary>Runs <paramref name="fit"/>, expects <typeparamref name="TEx"/>, and checks the weights did not change.</summary>
    private static TEx AssertRejectedBeforeTraining<TEx>(Sequential m, Action fit) where TEx : Exception
    {
        var before = SequentialTests.Bits(m);
        long steps = m.Optimizer?.Iterations ?? 0;
        var ex = Assert.Throws<TEx>(() => fit())!;
        Assert.That(SequentialTests.Bits(m), Is.EqualTo(before), "weights unchanged");
        Assert.That(m.Optimizer?.Iterations ?? 0, Is.EqualTo(steps), "no optimizer step");
        TestContext.Out.WriteLine(ex.Message);
        return ex;
    }

    [Test]
    public void SampleCountsDiffer()
    {
        var m = CompiledRnn();
        var (x, _) = OneStep(100);
        var (_, y) = OneStep(99);
        var ex = AssertRejectedBeforeTraining<ShapeMismatchException>(m, () => m.Fit(x, y, verbose: 0));
        Assert.That(ex.Message, Does.Contain("100 input samples but 99 samples in the targets"));

        var (vx, _) = OneStep(10);
        var (_, vy) = OneStep(11);
        var (x2, y2) = OneStep(20);
        var ex2 = AssertRejectedBeforeTraining<ShapeMismatchException>(m, () => m.Fit(x2, y2, validationData: (vx, vy), verbose: 0));
        Assert.That(ex2.Message, Does.Contain("10 input samples but 11 samples in the validation targets"));
    }

    [Test]
    public void WrongFeatureSize()
    {
        var m = CompiledRnn();
        var x = Tensor.Zeros(new Shape(10, 50, 2));
        var y = Tensor.Zeros(new Shape(10, 1));
        var ex = AssertRejectedBeforeTraining<ShapeMismatchException>(m, () => m.Fit(x, y, verbose: 0));
        Assert.That(ex.Message, Does.Contain("(samples, None, 1)").And.Contain("(10, 50, 2)"));
        Assert.Throws<ShapeMismatchException>(() => m.Predict(x));
        Assert.Throws<ShapeMismatchException>(() => m.Evaluate(x, y));
    }

    [Test]
    public void WrongRank()
    {
        var m = CompiledRnn();
        var y = Tensor.Zeros(new Shape(10, 1));
        var ex = AssertRejectedBeforeTraining<ShapeMismatchException>(m, () => m.Fit(Tensor.Zeros(new Shape(10, 50)), y, verbose: 0));
        Assert.That(ex.Message, Does.Contain("(samples, None, 1)").And.Contain("(10, 50)"));
        var ex2 = AssertRejectedBeforeTraining<ShapeMismatchException>(m, () => m.Fit(Tensor.Zeros(new Shape(10, 50, 1, 1)), y, verbose: 0));
        Assert.That(ex2.Message, Does.Contain("(10, 50, 1, 1)"));
        Assert.Throws<ShapeMismatchException>(() => m.Fit(Tensor.Zeros(new Shape(10)), y, verbose: 0));
    }

    [Test]
    public void EmptyData_CannotEvenBeATensor()
    {
        // Shapes reject zero dimensions, so an empty data set fails when the tensor is created, with the shape named.
        var ex = Assert.Throws<ArgumentException>(() => Tensor.FromArray(Array.Empty<float>(), 0, 50, 1));
        Assert.That(ex!.Message, Does.Contain("(0, 50, 1)").And.Contain("at least 1"));
        var ex2 = Assert.Throws<ArgumentException>(() => Tensor.Zeros(new Shape(0, 1)));
        Assert.That(ex2!.Message, Does.Contain("(0, 1)"));
        Assert.Throws<ArgumentException>(() => ChapterSlices.Take(ChapterSlices.OneStep.Train, 0));
    }

    [Test]
    public void NaNOrInfinityInInputs_NamesTheSample()
    {
        var m = CompiledRnn();
        var (x, y) = OneStep(40);
        var xs = x.ToFloatArray();
        xs[3 * 50 + 17] = float.NaN;
        var ex = AssertRejectedBeforeTraining<ArgumentException>(m, () => m.Fit(Tensor.FromArray(xs, 40, 50, 1), y, verbose: 0));
        Assert.That(ex.Message, Does.Contain("inputs").And.Contain("NaN").And.Contain("sample 3"));

        xs[3 * 50 + 17] = 0;
        xs[39 * 50] = float.NegativeInfinity;
        var ex2 = AssertRejectedBeforeTraining<ArgumentException>(m, () => m.Fit(Tensor.FromArray(xs, 40, 50, 1), y, verbose: 0));
        Assert.That(ex2.Message, Does.Contain("sample 39").And.Contain("finite"));

        // Predict reports a NaN input because it makes the prediction NaN (PredictNonFiniteTests has the rules)
        xs[3 * 50 + 17] = float.NaN;
        var ex3 = Assert.Throws<ArgumentException>(() => m.Predict(Tensor.FromArray(xs, 40, 50, 1)))!;
        Assert.That(ex3.Message, Does.Contain("sample 3"));
    }

    [Test]
    public void NaNOrInfinityInTargets_NamesTheSample()
    {
        var m = CompiledRnn();
        var (x, y) = OneStep(40);
        var ys = y.ToFloatArray();
        ys[5] = float.PositiveInfinity;
        var ex = AssertRejectedBeforeTraining<ArgumentException>(m, () => m.Fit(x, Tensor.FromArray(ys, 40, 1), verbose: 0));
        Assert.That(ex.Message, Does.Contain("targets").And.Contain("sample 5").And.Contain("finite"));

        // In validation targets: rejected before the first epoch, not after it.
        ys[5] = 0;
        var vys = (float[])ys.Clone();
        vys[12] = float.NaN;
        var ex2 = AssertRejectedBeforeTraining<ArgumentException>(m,
            () => m.Fit(x, Tensor.FromArray(ys, 40, 1), validationData: (x, Tensor.FromArray(vys, 40, 1)), verbose: 0));
        Assert.That(ex2.Message, Does.Contain("validation targets").And.Contain("sample 12"));
    }

    [Test]
    public void TargetsNotMatchingTheOutputShape()
    {
        var m = CompiledRnn();
        var (x, _) = OneStep(10);
        var ex = AssertRejectedBeforeTraining<ShapeMismatchException>(m, () => m.Fit(x, Tensor.Zeros(new Shape(10, 2)), verbose: 0));
        Assert.That(ex.Message, Does.Contain("(10, 2)").And.Contain("(samples, 1)"));

        var seq = ChapterModels.SeqToSeq();
        seq.Build();
        seq.Compile(new TestSgd(0.01), "mse");
        var ex2 = AssertRejectedBeforeTraining<ShapeMismatchException>(seq, () => seq.Fit(x, Tensor.Zeros(new Shape(10, 50, 9)), verbose: 0));
        Assert.That(ex2.Message, Does.Contain("(10, 50, 9)").And.Contain("(samples, 50, 10)"));
        // Vector targets for a sequence model.
        AssertRejectedBeforeTraining<ShapeMismatchException>(seq, () => seq.Fit(x, Tensor.Zeros(new Shape(10, 10)), verbose: 0));

        // A trailing size-1 axis is aligned as in Keras: (N,) targets for a (N, 1) output are accepted.
        var y1 = Tensor.FromArray(ChapterSlices.OneStep.Train.Y.AsSpan(0, 10), 10);
        Assert.DoesNotThrow(() => m.Fit(x, y1, epochs: 1, verbose: 0));
    }

    [Test]
    public void FitOrEvaluateBeforeCompile()
    {
        var m = ChapterModels.DeepRnn();
        m.Build();
        var (x, y) = OneStep(10);
        var ex = AssertRejectedBeforeTraining<InvalidOperationException>(m, () => m.Fit(x, y, verbose: 0));
        Assert.That(ex.Message, Does.Contain("Compile"));
        Assert.Throws<InvalidOperationException>(() => m.Evaluate(x, y));
        Assert.DoesNotThrow(() => m.Predict(x));
    }

    [Test]
    public void BadArguments()
    {
        var m = CompiledRnn();
        var (x, y) = OneStep(10);
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Fit(x, y, batchSize: 0, verbose: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Fit(x, y, epochs: -1, verbose: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Predict(x, batchSize: 0));
        Assert.Throws<ArgumentException>(() => m.Compile(new TestSgd(0.1), "mse", "mse", "mean_squared_error"));
    }

    // ------------------------------------------------------------------ divergence

    [Test]
    public void OverflowingData_DivergesAtTheFirstBatch_WithTheInitialWeightsKept()
    {
        var m = ChapterModels.Linear();
        m.Build();
        m.Compile(new TestSgd(0.01), "mse");
        var before = SequentialTests.Bits(m);
        // Finite float32 inputs whose predictions overflow when squared.
        var x = Tensor.Full(new Shape(64, 50, 1), 1e30);
        var y = Tensor.Zeros(new Shape(64, 1));
        var ex = Assert.Throws<TrainingDivergedException>(() => m.Fit(x, y, epochs: 3, verbose: 0))!;
        TestContext.Out.WriteLine(ex.Message);
        Assert.That(ex.Epoch, Is.EqualTo(1));
        Assert.That(ex.Batch, Is.EqualTo(1));
        Assert.That(ex.Message, Does.Contain("epoch 1").And.Contain("batch 1"));
        Assert.That(ex.History.Epochs, Is.EqualTo(0));
        Assert.That(SequentialTests.Bits(m), Is.EqualTo(before));
        Assert.That(m.Optimizer!.Iterations, Is.EqualTo(0));
    }

    [Test]
    public void HugeLearningRate_Diverges_WeightsAreThoseBeforeTheFailingStep()
    {
        var m = ChapterModels.DeepRnn();
        m.Build();
        m.Compile(new TestSgd(1e4), "mse");
        var (x, y) = OneStep(320);
        int[][]? lastGood = SequentialTests.Bits(m);
        int batches = 0, epochsDone = 0;
        var cb = new LambdaCallback
        {
            BatchEnd = (_, _, _) => { lastGood = SequentialTests.Bits(m); batches++; },
            EpochEnd = (_, _, _) => epochsDone++,
        };
        var ex = Assert.Throws<TrainingDivergedException>(() => m.Fit(x, y, epochs: 20, callbacks: [cb], verbose: 0))!;
        TestContext.Out.WriteLine($"{ex.Message} (after {batches} good steps)");
        Assert.That(batches, Is.GreaterThan(0), "at least one step succeeded before the failure");
        Assert.That(ex.Message, Does.Contain($"epoch {ex.Epoch}").And.Contain($"batch {ex.Batch}"));
        Assert.That((ex.Epoch - 1) * 10 + ex.Batch, Is.EqualTo(batches + 1), "the failing step is the one after the last good one");
        Assert.That(ex.History.Epochs, Is.EqualTo(epochsDone));
        Assert.That(ex.History.StopReason, Does.Contain("diverged"));
        Assert.That(SequentialTests.Bits(m), Is.EqualTo(lastGood), "weights from before the failing step");
        Assert.That(m.Optimizer!.Iterations, Is.EqualTo(batches));
    }
}
