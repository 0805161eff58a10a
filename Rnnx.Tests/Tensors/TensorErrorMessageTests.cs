namespace Rnnx.Tests.Tensors;

/// <summary>Tensor operations refuse mismatched shapes and dtypes with messages naming the op and the operands.</summary>
public class TensorErrorMessageTests
{
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
}
