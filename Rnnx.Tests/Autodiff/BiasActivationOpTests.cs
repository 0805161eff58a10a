using Rnnx.Autodiff.Ops;
using Rnnx.Diagnostics;
using Rnnx.Tests.TestUtilities;

namespace Rnnx.Tests.Autodiff;

/// <summary>The fused bias + activation op: gradient checks and equality with its composition.</summary>
public class BiasActivationOpTests
{
    private static Tensor Rand(System.Random r, params int[] shape)
    {
        var v = new double[shape.Aggregate(1, (a, b) => a * b)];
        // keep pre-activations away from relu's kink at 0
        for (int i = 0; i < v.Length; i++) v[i] = (r.NextDouble() < 0.5 ? -1 : 1) * (0.1 + r.NextDouble());
        return Tensor.FromArray(v, shape);
    }

    [TestCase(FusedActivation.Linear, 3, 7)]
    [TestCase(FusedActivation.Relu, 17, 20)]
    [TestCase(FusedActivation.Tanh, 5, 33)]
    [TestCase(FusedActivation.Sigmoid, 1, 1)]
    [TestCase(FusedActivation.Relu, 2, 3)]
    public void GradientCheck(FusedActivation act, int rows, int n)
    {
        var r = new System.Random(rows * 31 + n);
        var x = Rand(r, 2, rows, n);
        var b = Tensor.FromArray(Enumerable.Range(0, n).Select(i => 0.01 * i).ToArray(), n);
        GradientChecker.Check(t => Tensor.BiasActivation(t[0], t[1], act), x, b);
    }

    /// <summary>
    /// The input also used by another op: its gradient already holds that op's part when the bias-activation's backward
    /// runs (the other op recorded later), or receives it afterwards (recorded earlier); dz then goes through a scratch
    /// or straight into the gradient.
    /// </summary>
    [Test]
    public void GradientCheck_InputUsedTwice([Values(FusedActivation.Relu, FusedActivation.Tanh, FusedActivation.Sigmoid)] FusedActivation act,
        [Values] bool otherOpFirst)
    {
        var r = new System.Random(3 + (int)act);
        var x = Rand(r, 2, 5, 6);
        var b = Tensor.FromArray(Enumerable.Range(0, 6).Select(i => 0.02 * i).ToArray(), 6);
        GradientChecker.Check(t => otherOpFirst
            ? Tensor.Square(t[0]) + Tensor.BiasActivation(t[0], t[1], act)
            : Tensor.BiasActivation(t[0], t[1], act) + Tensor.Square(t[0]), x, b);
    }

    [TestCase(FusedActivation.Linear)]
    [TestCase(FusedActivation.Relu)]
    [TestCase(FusedActivation.Tanh)]
    [TestCase(FusedActivation.Sigmoid)]
    public void EqualsComposition(FusedActivation act)
    {
        var r = new System.Random(5);
        var x = Rand(r, 4, 9);
        var b = Rand(r, 9);
        var fused = Tensor.BiasActivation(x, b, act).ToDoubleArray();
        var z = x + b;
        var composed = (act switch
        {
            FusedActivation.Relu => Tensor.Relu(z),
            FusedActivation.Tanh => Tensor.Tanh(z),
            FusedActivation.Sigmoid => Tensor.Sigmoid(z),
            _ => z,
        }).ToDoubleArray();
        Assert.That(fused, Is.EqualTo(composed).Within(1e-15));
    }

    [Test]
    public void WrongBiasShape_NamesBothShapes()
    {
        var ex = Assert.Throws<ShapeMismatchException>(() => Tensor.BiasActivation(Tensor.Zeros(new Shape(2, 3)), Tensor.Zeros(new Shape(4))));
        Assert.That(ex!.Message, Does.Contain("(4,)").And.Contain("(2, 3)"));
    }
}
