using Rnnx.Kernels;

namespace Rnnx.Tests.Kernels;

[TestFixture]
public class Conv1DGeometryTests
{
    // (L, k, s, d, padding) -> (Lout, padLeft, padRight), hand-computed from the Keras/TF rules.
    [TestCase(50, 4, 2, 1, Conv1DPadding.Valid, 24, 0, 0)]   // Keras docs example: floor((50-3-1)/2)+1
    [TestCase(50, 2, 1, 8, Conv1DPadding.Causal, 50, 8, 0)]  // causal k=2 d=8
    [TestCase(50, 4, 1, 1, Conv1DPadding.Same, 50, 1, 2)]    // same k=4 s=1: total 3 -> 1 left, 2 right
    [TestCase(10, 3, 1, 1, Conv1DPadding.Valid, 8, 0, 0)]
    [TestCase(10, 3, 1, 1, Conv1DPadding.Same, 10, 1, 1)]
    [TestCase(10, 3, 2, 1, Conv1DPadding.Same, 5, 0, 1)]     // total = 4*2+3-10 = 1
    [TestCase(11, 3, 2, 1, Conv1DPadding.Same, 6, 1, 1)]     // total = 5*2+3-11 = 2
    [TestCase(10, 1, 3, 1, Conv1DPadding.Same, 4, 0, 0)]     // total = max(9+1-10, 0)
    [TestCase(10, 3, 1, 4, Conv1DPadding.Same, 10, 4, 4)]    // receptive field 9
    [TestCase(10, 3, 3, 1, Conv1DPadding.Valid, 3, 0, 0)]    // floor(7/3)+1
    [TestCase(9, 3, 1, 4, Conv1DPadding.Valid, 1, 0, 0)]     // exactly the receptive field
    [TestCase(4, 2, 1, 2, Conv1DPadding.Causal, 4, 2, 0)]
    [TestCase(7, 3, 2, 2, Conv1DPadding.Causal, 4, 4, 0)]    // floor(6/2)+1
    [TestCase(1, 4, 1, 8, Conv1DPadding.Causal, 1, 24, 0)]   // input far shorter than the receptive field
    [TestCase(1, 4, 1, 8, Conv1DPadding.Same, 1, 12, 12)]    // total = 0+25-1 = 24
    [TestCase(2, 2, 5, 1, Conv1DPadding.Same, 1, 0, 0)]      // total = max(0+2-2, 0)
    [TestCase(1, 1, 1, 1, Conv1DPadding.Valid, 1, 0, 0)]
    public void Table(int l, int k, int s, int d, Conv1DPadding p, int lout, int padLeft, int padRight)
    {
        var g = Conv1DGeometry.Create(l, k, s, d, p);
        Assert.Multiple(() =>
        {
            Assert.That(g.OutputLength, Is.EqualTo(lout), "Lout");
            Assert.That(g.PadLeft, Is.EqualTo(padLeft), "padLeft");
            Assert.That(g.PadRight, Is.EqualTo(padRight), "padRight");
            Assert.That(g.InputLength, Is.EqualTo(l));
            Assert.That(g.KernelSize, Is.EqualTo(k));
            Assert.That(g.Stride, Is.EqualTo(s));
            Assert.That(g.Dilation, Is.EqualTo(d));
        });
    }

    /// <summary>The formulas of the spec, checked on a grid (Lout via the padded length for every mode).</summary>
    [Test]
    public void FormulasOnGrid()
    {
        foreach (Conv1DPadding p in Enum.GetValues<Conv1DPadding>())
        for (int l = 1; l <= 40; l++)
        for (int k = 1; k <= 5; k++)
        for (int s = 1; s <= 4; s++)
        for (int d = 1; d <= 8; d *= 2)
        {
            int rf = d * (k - 1) + 1;
            if (p == Conv1DPadding.Valid && l < rf)
            {
                Assert.Throws<ArgumentException>(() => Conv1DGeometry.Create(l, k, s, d, p));
                continue;
            }
            var g = Conv1DGeometry.Create(l, k, s, d, p);
            int expectedOut = p switch
            {
                Conv1DPadding.Valid => (l - rf) / s + 1,
                Conv1DPadding.Same => (l + s - 1) / s,
                _ => (l - 1) / s + 1,
            };
            Assert.That(g.OutputLength, Is.EqualTo(expectedOut), g.ToString());
            // The last window must start inside the padded input and fit in it.
            Assert.That((g.OutputLength - 1) * s + rf, Is.LessThanOrEqualTo(l + g.PadLeft + g.PadRight), g.ToString());
            if (p == Conv1DPadding.Same)
            {
                Assert.That(g.PadRight - g.PadLeft, Is.InRange(0, 1), g.ToString());
                Assert.That(g.PadLeft + g.PadRight, Is.EqualTo(Math.Max((expectedOut - 1) * s + rf - l, 0)), g.ToString());
            }
            if (p == Conv1DPadding.Causal)
                Assert.That((g.PadLeft, g.PadRight), Is.EqualTo((rf - 1, 0)), g.ToString());
        }
    }

    [TestCase(0, 1, 1, 1)]
    [TestCase(5, 0, 1, 1)]
    [TestCase(5, 1, 0, 1)]
    [TestCase(5, 1, 1, 0)]
    [TestCase(-1, 1, 1, 1)]
    [TestCase(5, 2, -3, 1)]
    public void NonPositiveSizesThrow(int l, int k, int s, int d)
    {
        foreach (Conv1DPadding p in Enum.GetValues<Conv1DPadding>())
            Assert.Throws<ArgumentOutOfRangeException>(() => Conv1DGeometry.Create(l, k, s, d, p));
    }

    [Test]
    public void ValidShorterThanReceptiveFieldThrowsWithValues()
    {
        var ex = Assert.Throws<ArgumentException>(() => Conv1DGeometry.Create(5, 4, 1, 2, Conv1DPadding.Valid));
        Assert.That(ex!.Message, Does.Contain("5").And.Contain("7"));
    }

    [Test]
    public void UnknownPaddingThrows()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Conv1DGeometry.Create(5, 1, 1, 1, (Conv1DPadding)42));
    }
}
