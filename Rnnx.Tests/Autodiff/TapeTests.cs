namespace Rnnx.Tests.Autodiff;

/// <summary>
/// Hand-computed gradients and the tape's contract: accumulation, broadcasting, seeds, recycling and recording rules.
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
}
