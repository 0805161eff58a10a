namespace Rnnx.Tests.Autodiff;

/// <summary>
/// Hand-computed gradients and the tape's contract: accumulation, broadcasting, seeds, recycling, recording rules,
/// error messages, and allocation-free steady-state training steps.
/// </summary>
public class TapeTests
{
    private static Tensor F64(double[] values, params int[] shape) => Tensor.FromArray(values, shape);

    // ------------------------------------------------------------------ hand-computed gradients

    [Test]
    public void Reuse_Accumulates()
    {
        var x = F64([-1.5, 0, 2], 3).RequireGrad();
        using var tape = new Tape();
        using (tape.Activate())
        {
            var y = Tensor.Sum(x * x + x);
            var g = tape.Backward(y)[x].ToDoubleArray();
            // d/dx (x^2 + x) = 2x + 1
            Assert.That(g, Is.EqualTo(new[] { 2 * -1.5 + 1, 2 * 0.0 + 1, 2 * 2.0 + 1 }));
        }
        tape.Reset();
    }

    [Test]
    public void ChainRule_ThroughTanhAndProduct()
    {
        var x = F64([0.5], 1).RequireGrad();
        var w = F64([3.0], 1).RequireGrad();
        using var tape = new Tape();
        using (tape.Activate())
        {
            var g = tape.Backward(Tensor.Sum(Tensor.Tanh(x * w)));
            double t = Math.Tanh(1.5);
            // d/dx tanh(x w) = w (1 - tanh^2(x w))
            Assert.That(g[x].Item(), Is.EqualTo(3.0 * (1 - t * t)).Within(1e-15));
            // d/dw tanh(x w) = x (1 - tanh^2(x w))
            Assert.That(g[w].Item(), Is.EqualTo(0.5 * (1 - t * t)).Within(1e-15));
        }
        tape.Reset();
    }

    [Test]
    public void UnusedInput_GetsZeroGradient()
    {
        var x = F64([1, 2], 2).RequireGrad();
        var unused = F64([3, 4, 5], 3).RequireGrad();
        using var tape = new Tape();
        using (tape.Activate())
        {
            var g = tape.Backward(Tensor.Sum(x * 2.0));
            Assert.That(g.Contains(unused), Is.False);
            Assert.That(g.Contains(x), Is.True);
            // d/d(unused) = 0: it does not take part in the loss
            Assert.That(g[unused].ToDoubleArray(), Is.EqualTo(new double[] { 0, 0, 0 }));
            // d/dx sum(2x) = 2
            Assert.That(g[x].ToDoubleArray(), Is.EqualTo(new double[] { 2, 2 }));
        }
        tape.Reset();
    }

    [Test]
    public void Broadcasting_BiasGradientIsTheColumnSum()
    {
        // y = sum((x + b) * m) with x (2, 3), b (3,), m constant (2, 3)
        var x = F64([1, 2, 3, 4, 5, 6], 2, 3).RequireGrad();
        var b = F64([10, 20, 30], 3).RequireGrad();
        var m = F64([1, 2, 3, -1, -2, -4], 2, 3);
        using var tape = new Tape();
        using (tape.Activate())
        {
            var g = tape.Backward(Tensor.Sum((x + b) * m));
            // d/db_j = sum_i m_ij (the column sums of the upstream gradient)
            Assert.That(g[b].ToDoubleArray(), Is.EqualTo(new double[] { 1 - 1, 2 - 2, 3 - 4 }));
            // d/dx_ij = m_ij
            Assert.That(g[x].ToDoubleArray(), Is.EqualTo(new double[] { 1, 2, 3, -1, -2, -4 }));
        }
        tape.Reset();
    }

    [Test]
    public void Broadcasting_ColumnTimesRow_SumsOverBothExpandedAxes()
    {
        // y = sum(a * b), a (2, 1), b (1, 3): y = (a0 + a1)(b0 + b1 + b2)
        var a = F64([2, 5], 2, 1).RequireGrad();
        var b = F64([1, 10, 100], 1, 3).RequireGrad();
        using var tape = new Tape();
        using (tape.Activate())
        {
            var g = tape.Backward(Tensor.Sum(a * b));
            // dy/da_i = b0 + b1 + b2 = 111
            Assert.That(g[a].ToDoubleArray(), Is.EqualTo(new double[] { 111, 111 }));
            // dy/db_j = a0 + a1 = 7
            Assert.That(g[b].ToDoubleArray(), Is.EqualTo(new double[] { 7, 7, 7 }));
        }
        tape.Reset();
    }

    [Test]
    public void Seed_IsTheUpstreamGradient()
    {
        var x = F64([1, 2, 3], 3).RequireGrad();
        using var tape = new Tape();
        using (tape.Activate())
        {
            var y = x * x;
            var g = tape.Backward(y, F64([1, 10, 100], 3));
            // d/dx_i sum(seed_i x_i^2) = 2 x_i seed_i
            Assert.That(g[x].ToDoubleArray(), Is.EqualTo(new double[] { 2, 40, 600 }));
        }
        tape.Reset();
    }

    [Test]
    public void MatMul_HandComputed()
    {
        // y = sum(A B), A (1, 2), B (2, 2): dA = 1 B^T, dB = A^T 1
        var a = F64([1, 2], 1, 2).RequireGrad();
        var b = F64([3, 4, 5, 6], 2, 2).RequireGrad();
        using var tape = new Tape();
        using (tape.Activate())
        {
            var g = tape.Backward(Tensor.Sum(Tensor.MatMul(a, b)));
            // dy/dA_0k = sum_n B_kn: row sums of B = (3 + 4, 5 + 6)
            Assert.That(g[a].ToDoubleArray(), Is.EqualTo(new double[] { 7, 11 }));
            // dy/dB_kn = A_0k
            Assert.That(g[b].ToDoubleArray(), Is.EqualTo(new double[] { 1, 1, 2, 2 }));
        }
        tape.Reset();
    }

    [Test]
    public void Intermediate_GradientIsReadable()
    {
        var x = F64([1, -2], 2).RequireGrad();
        using var tape = new Tape();
        using (tape.Activate())
        {
            var h = x * 3.0;
            var g = tape.Backward(Tensor.Sum(h * h));
            // d/dh sum(h^2) = 2h = 6x
            Assert.That(g[h].ToDoubleArray(), Is.EqualTo(new double[] { 6, -12 }));
            // d/dx = 2h * 3 = 18x
            Assert.That(g[x].ToDoubleArray(), Is.EqualTo(new double[] { 18, -36 }));
        }
        tape.Reset();
    }

    // ------------------------------------------------------------------ backward contract

    [Test]
    public void NonScalarOutput_WithoutSeed_Throws()
    {
        var x = F64([1, 2, 3], 3).RequireGrad();
        using var tape = new Tape();
        using (tape.Activate())
        {
            var ex = Assert.Throws<InvalidOperationException>(() => tape.Backward(Tensor.Tanh(x)));
            Assert.That(ex!.Message, Does.Contain("(3,)").And.Contain("seed"));
        }
    }

    [Test]
    public void Seed_OfTheWrongShape_Throws()
    {
        var x = F64([1, 2, 3, 4, 5, 6], 2, 3).RequireGrad();
        using var tape = new Tape();
        using (tape.Activate())
        {
            var y = Tensor.Tanh(x);
            var ex = Assert.Throws<ShapeMismatchException>(() => tape.Backward(y, F64([1, 2, 3, 4, 5, 6], 3, 2)));
            Assert.That(ex!.Message, Does.Contain("(3, 2)").And.Contain("(2, 3)"));
        }
    }

    [Test]
    public void Seed_OfTheWrongDType_Throws()
    {
        var x = F64([1, 2], 2).RequireGrad();
        using var tape = new Tape();
        using (tape.Activate())
        {
            var ex = Assert.Throws<ArgumentException>(() => tape.Backward(Tensor.Tanh(x), Tensor.Ones(new Shape(2), DType.Float32)));
            Assert.That(ex!.Message, Does.Contain("Float32").And.Contain("Float64"));
        }
    }

    [Test]
    public void Backward_Twice_Throws()
    {
        var x = F64([1, 2], 2).RequireGrad();
        using var tape = new Tape();
        using (tape.Activate())
        {
            var y = Tensor.Sum(x * x);
            tape.Backward(y);
            var ex = Assert.Throws<InvalidOperationException>(() => tape.Backward(y));
            Assert.That(ex!.Message, Does.Contain("already"));
        }
        tape.Reset();
        using (tape.Activate())
        {
            // After Reset the tape records and differentiates again.
            var g = tape.Backward(Tensor.Sum(x * x));
            // d/dx sum(x^2) = 2x
            Assert.That(g[x].ToDoubleArray(), Is.EqualTo(new double[] { 2, 4 }));
        }
    }

    [Test]
    public void Backward_OfAnOutputThatNeedsNoGradient_Throws()
    {
        var x = F64([1, 2], 2);   // not marked
        using var tape = new Tape();
        using (tape.Activate())
            Assert.Throws<InvalidOperationException>(() => tape.Backward(Tensor.Sum(x * x)));
    }

    [Test]
    public void TensorFromAResetTape_Throws_WithAClearMessage()
    {
        var x = F64([1, 2], 2).RequireGrad();
        using var tape = new Tape();
        Tensor y, view;
        Gradients g;
        using (tape.Activate())
        {
            y = Tensor.Tanh(x);
            g = tape.Backward(Tensor.Sum(y));
        }
        view = Tensor.Reshape(y, 2, 1);   // a view made after the tape was deactivated, still on y's buffer
        Assert.That(view.ToDoubleArray(), Is.EqualTo(y.ToDoubleArray()));
        tape.Reset();

        Assert.That(y.IsValid, Is.False);
        var ex = Assert.Throws<InvalidOperationException>(() => y.ToDoubleArray());
        Assert.That(ex!.Message, Does.Contain("recycled").And.Contain("reset"));
        Assert.Throws<InvalidOperationException>(() => _ = y.Shape);
        Assert.Throws<InvalidOperationException>(() => Tensor.Tanh(y));
        // A view shares the recycled buffer, so it is invalidated with it.
        Assert.That(view.IsValid, Is.False);
        Assert.Throws<InvalidOperationException>(() => view.ToDoubleArray());
        // The gradients of a reset tape are gone too.
        var gex = Assert.Throws<InvalidOperationException>(() => _ = g[x]);
        Assert.That(gex!.Message, Does.Contain("reset"));
        // The leaf itself is untouched.
        Assert.That(x.ToDoubleArray(), Is.EqualTo(new double[] { 1, 2 }));
    }

    [Test]
    public void DefaultTensor_Throws()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => _ = default(Tensor).Shape);
        Assert.That(ex!.Message, Does.Contain("uninitialized"));
    }

    [Test]
    public void RequireGrad_OnATapeResult_Throws()
    {
        var x = F64([1, 2], 2);
        using var tape = new Tape();
        using (tape.Activate())
        {
            var y = Tensor.Tanh(x);
            Assert.Throws<InvalidOperationException>(() => y.RequireGrad());
        }
        tape.Reset();
    }

    // ------------------------------------------------------------------ recording rules

    [Test]
    public void NoTape_RecordsNothing()
    {
        var x = F64([1, 2], 2).RequireGrad();
        var y = Tensor.Tanh(x) * x;
        Assert.That(Tape.Current, Is.Null);
        Assert.That(y.RequiresGrad, Is.False, "no tape: the result is plain data");
        // A heap result survives any tape reset.
        using var tape = new Tape();
        tape.Reset();
        Assert.That(y.IsValid, Is.True);
    }

    [Test]
    public void InputsWithoutGrad_AreNotRecorded()
    {
        var x = F64([1, 2], 2);
        using var tape = new Tape();
        using (tape.Activate())
        {
            var y = Tensor.Tanh(x) * x;
            Assert.That(tape.Count, Is.EqualTo(0));
            Assert.That(y.RequiresGrad, Is.False);
        }
        tape.Reset();
    }

    [Test]
    public void NoGrad_RecordsNothing_AndRestoresRecording()
    {
        var x = F64([1, 2], 2).RequireGrad();
        using var tape = new Tape();
        using (tape.Activate())
        {
            Tensor y;
            using (tape.NoGrad())
            {
                Assert.That(tape.IsRecording, Is.False);
                y = Tensor.Sum(Tensor.Tanh(x) * x);
            }
            Assert.That(tape.Count, Is.EqualTo(0));
            Assert.That(y.RequiresGrad, Is.False);
            Assert.Throws<InvalidOperationException>(() => tape.Backward(y));

            Assert.That(tape.IsRecording, Is.True);
            var z = Tensor.Sum(x * x);
            Assert.That(tape.Count, Is.EqualTo(2));
            // d/dx sum(x^2) = 2x
            Assert.That(tape.Backward(z)[x].ToDoubleArray(), Is.EqualTo(new double[] { 2, 4 }));
        }
        tape.Reset();
    }

    [Test]
    public void Activate_RestoresThePreviousTape()
    {
        using var outer = new Tape();
        using var inner = new Tape();
        using (outer.Activate())
        {
            using (inner.Activate()) Assert.That(Tape.Current, Is.SameAs(inner));
            Assert.That(Tape.Current, Is.SameAs(outer));
        }
        Assert.That(Tape.Current, Is.Null);
    }

    // ------------------------------------------------------------------ error messages

    [Test]
    public void DTypeMismatch_Throws_NamingOpAndDTypes()
    {
        var a = Tensor.Ones(new Shape(2, 3), DType.Float32);
        var b = Tensor.Ones(new Shape(2, 3), DType.Float64);
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Add(a, b));
        Assert.That(ex!.Message, Does.StartWith("Add: dtypes differ").And.Contain("Float32").And.Contain("Float64"));
        ex = Assert.Throws<ArgumentException>(() => Tensor.MatMul(a, Tensor.Ones(new Shape(3, 2), DType.Float64)));
        Assert.That(ex!.Message, Does.StartWith("MatMul: dtypes differ"));
    }

    [Test]
    public void MatMul_InnerDimensionMismatch_NamesBothShapes()
    {
        var a = Tensor.Zeros(new Shape(32, 20));
        var b = Tensor.Zeros(new Shape(21, 80));
        var ex = Assert.Throws<ShapeMismatchException>(() => Tensor.MatMul(a, b));
        Assert.That(ex!.Message, Is.EqualTo("MatMul: inner dimensions differ, (32, 20) x (21, 80)."));
    }

    [Test]
    public void ShapeMismatch_Messages_NameOpAndShapes()
    {
        var ex = Assert.Throws<ShapeMismatchException>(() => Tensor.Add(Tensor.Zeros(new Shape(3, 7)), Tensor.Zeros(new Shape(3))));
        Assert.That(ex!.Message, Is.EqualTo("Add: shapes (3, 7) and (3,) cannot be broadcast together."));
        ex = Assert.Throws<ShapeMismatchException>(() => Tensor.MatMul(Tensor.Zeros(new Shape(2, 3, 5)), Tensor.Zeros(new Shape(3, 5, 4))));
        Assert.That(ex!.Message, Does.StartWith("MatMul: batch dimensions differ").And.Contain("(2, 3, 5)").And.Contain("(3, 5, 4)"));
        ex = Assert.Throws<ShapeMismatchException>(() => Tensor.MeanSquaredError(Tensor.Zeros(new Shape(4, 1)), Tensor.Zeros(new Shape(4))));
        Assert.That(ex!.Message, Does.StartWith("MeanSquaredError").And.Contain("(4, 1)").And.Contain("(4,)"));
        ex = Assert.Throws<ShapeMismatchException>(() => Tensor.Concat(0, Tensor.Zeros(new Shape(2, 3)), Tensor.Zeros(new Shape(2, 4))));
        Assert.That(ex!.Message, Does.StartWith("Concat").And.Contain("(2, 4)").And.Contain("(2, 3)"));
        ex = Assert.Throws<ShapeMismatchException>(() => Tensor.Stack(0, Tensor.Zeros(new Shape(2, 3)), Tensor.Zeros(new Shape(3, 2))));
        Assert.That(ex!.Message, Does.StartWith("Stack").And.Contain("(3, 2)").And.Contain("(2, 3)"));
        ex = Assert.Throws<ShapeMismatchException>(() => Tensor.Conv1D(Tensor.Zeros(new Shape(2, 9, 3)), Tensor.Zeros(new Shape(2, 4, 5))));
        Assert.That(ex!.Message, Does.StartWith("Conv1D").And.Contain("(2, 9, 3)").And.Contain("(2, 4, 5)"));
        ex = Assert.Throws<ShapeMismatchException>(() => Tensor.LayerNorm(Tensor.Zeros(new Shape(2, 5)), Tensor.Zeros(new Shape(4)), Tensor.Zeros(new Shape(4))));
        Assert.That(ex!.Message, Does.StartWith("LayerNorm").And.Contain("(4,)").And.Contain("(2, 5)"));
        ex = Assert.Throws<ShapeMismatchException>(() => Tensor.Transpose(Tensor.Zeros(new Shape(2, 3)), 0, 1, 2));
        Assert.That(ex!.Message, Does.StartWith("Transpose").And.Contain("(2, 3)"));
    }

    [Test]
    public void Slice_Errors()
    {
        var x = Tensor.Zeros(new Shape(2, 50, 3));
        var step = Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Slice(x, 1, 0, 10, 0));
        Assert.That(step!.Message, Does.StartWith("Slice: step must be at least 1, got 0."));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Slice(x, 1, 10, 0, -1));
        var empty = Assert.Throws<ArgumentException>(() => Tensor.Slice(x, 1, 10, 5));
        Assert.That(empty!.Message, Does.Contain("selects nothing").And.Contain("(2, 50, 3)"));
        Assert.Throws<ArgumentException>(() => Tensor.Slice(x, 1, 60, null));
        var axis = Assert.Throws<ArgumentException>(() => Tensor.Slice(x, 3, 0, 1));
        Assert.That(axis!.Message, Does.StartWith("Slice: axis 3 is out of range").And.Contain("(2, 50, 3)"));
        var sel = Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Select(x, 1, 50));
        Assert.That(sel!.Message, Does.StartWith("Select: index 50 is out of range for axis 1 of length 50"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Select(x, 1, -51));
    }

    [Test]
    public void Reshape_Errors()
    {
        var x = Tensor.Zeros(new Shape(2, 3, 5));
        var ex = Assert.Throws<ShapeMismatchException>(() => Tensor.Reshape(x, 4, 8));
        Assert.That(ex!.Message, Is.EqualTo("Reshape: cannot reshape (2, 3, 5) (30 elements) to (4, 8) (32 elements)."));
        ex = Assert.Throws<ShapeMismatchException>(() => Tensor.Reshape(x, 4, -1));
        Assert.That(ex!.Message, Does.StartWith("Reshape: cannot reshape (2, 3, 5) (30 elements) to (4, -1)"));
        var two = Assert.Throws<ArgumentException>(() => Tensor.Reshape(x, -1, -1));
        Assert.That(two!.Message, Does.StartWith("Reshape: only one dimension may be -1."));
        var zero = Assert.Throws<ArgumentException>(() => Tensor.Reshape(x, 0, 30));
        Assert.That(zero!.Message, Does.StartWith("Reshape: dimension 0 is 0"));
    }

    // ------------------------------------------------------------------ allocation-free steady state

    private sealed class RnnStep
    {
        private const int Batch = 4, Features = 3, Units = 8;
        private readonly Tensor _x, _y, _h0;
        private readonly Parameter _w, _r, _b;
        private readonly Tensor[] _hs;
        private readonly Tape _tape = new();
        public double Checksum;

        public RnnStep(int steps)
        {
            var rng = new global::Rnnx.Random.NumPyRandomState(1);
            _x = Tensor.FromArray(Array.ConvertAll(rng.Rand(Batch * steps * Features), v => (float)v - 0.5f), Batch, steps, Features);
            _y = Tensor.FromArray(Array.ConvertAll(rng.Rand(Batch * steps * Units), v => (float)v), Batch, steps, Units);
            _h0 = Tensor.Zeros(new Shape(Batch, Units));
            _w = new Parameter("rnn/kernel", Tensor.FromArray(Array.ConvertAll(rng.Rand(Features * Units), v => (float)v - 0.5f), Features, Units));
            _r = new Parameter("rnn/recurrent_kernel", Tensor.FromArray(Array.ConvertAll(rng.Rand(Units * Units), v => (float)v * 0.2f - 0.1f), Units, Units));
            _b = new Parameter("rnn/bias", Tensor.Zeros(new Shape(Units)));
            _hs = new Tensor[steps];
        }

        /// <summary>Forward (h = tanh(x_t W + h R + b) over all steps, stacked), MSE, backward, a read of the gradients, reset.</summary>
        public void Run()
        {
            using (_tape.Activate())
            {
                var h = _h0;
                for (int t = 0; t < _hs.Length; t++)
                {
                    h = Tensor.Tanh(Tensor.MatMul(Tensor.Select(_x, 1, t), _w.Value) + Tensor.MatMul(h, _r.Value) + _b.Value);
                    _hs[t] = h;
                }
                var loss = Tensor.MeanSquaredError(_y, Tensor.Stack(1, _hs));
                var g = _tape.Backward(loss);
                Checksum = loss.Item() + g.GetSpan<float>(_w)[0] + g.GetSpan<float>(_r)[0] + g.GetSpan<float>(_b)[0];
            }
            _tape.Reset();
            Array.Clear(_hs);
        }
    }

    private static long AllocatedBySecondStep(int steps)
    {
        var step = new RnnStep(steps);
        step.Run();   // warm-up: pools, arenas, gradient slots and JIT
        long before = GC.GetAllocatedBytesForCurrentThread();
        step.Run();
        long after = GC.GetAllocatedBytesForCurrentThread();
        Assert.That(double.IsFinite(step.Checksum));
        return after - before;
    }

    [Test]
    public void TrainingStep_AfterWarmUp_AllocatesNothingPerOp()
    {
        long short20 = AllocatedBySecondStep(20);
        long long80 = AllocatedBySecondStep(80);
        TestContext.Out.WriteLine($"allocated by a steady-state step: 20 steps {short20} B, 80 steps {long80} B");
        // 20 steps record ~130 ops, 80 steps ~490: any per-op allocation would show up many times over.
        Assert.That(short20, Is.LessThanOrEqualTo(256), "20 time steps");
        Assert.That(long80, Is.LessThanOrEqualTo(256), "80 time steps");
        Assert.That(long80 - short20, Is.LessThanOrEqualTo(64), "allocation must not grow with the number of time steps");
    }
}
