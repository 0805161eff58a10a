using Rnnx.Diagnostics;
using Rnnx.Layers;
using Rnnx.Tests.TestUtilities;

namespace Rnnx.Tests.Layers;

/// <summary>
/// Merge layers and RepeatVector: values, float64 gradients with respect to every input, and Keras's shape rules and
/// errors (keras/src/layers/merging/base_merge.py: at least 2 inputs, elementwise shapes equal or 1;
/// merging/concatenate.py: shapes equal except on the axis; reshaping/repeat_vector.py: rank-2 input).
/// </summary>
public class MergeLayerTests
{
    private static Tensor[] Inputs(uint seed, params int[][] shapes)
    {
        var r = new RandomTensors(seed);
        return shapes.Select(s => r.Uniform(s)).ToArray();
    }

    [Test]
    public void MergeValues()
    {
        var a = Tensor.FromArray(new double[] { 1, 2, 3, 4 }, 2, 2);
        var b = Tensor.FromArray(new double[] { 10, 20, 30, 40 }, 2, 2);
        var c = Tensor.FromArray(new double[] { 0.5, 0.5, 2, 2 }, 2, 2);
        Assert.That(new Add().CallMany([a, b, c])[0].ToDoubleArray(), Is.EqualTo(new[] { 11.5, 22.5, 35, 46 }));
        Assert.That(new Multiply().CallMany([a, b, c])[0].ToDoubleArray(), Is.EqualTo(new[] { 5.0, 20, 180, 320 }));
        Assert.That(new Average().CallMany([a, b])[0].ToDoubleArray(), Is.EqualTo(new[] { 5.5, 11, 16.5, 22 }));
        Assert.That(new Concatenate().CallMany([a, b])[0].ToDoubleArray(), Is.EqualTo(new[] { 1.0, 2, 10, 20, 3, 4, 30, 40 }));
        Assert.That(new Concatenate(axis: 1).CallMany([a, b])[0].Shape, Is.EqualTo(new Shape(2, 4)));
        var rep = new RepeatVector(3).Call(a);
        Assert.That(rep.Shape, Is.EqualTo(new Shape(2, 3, 2)));
        Assert.That(rep.ToDoubleArray(), Is.EqualTo(new[] { 1.0, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4 }));
    }

    [Test]
    public void MergeGradients([Values("add", "multiply", "average", "concatenate_last", "concatenate_time")] string kind)
    {
        Layer layer = kind switch
        {
            "add" => new Add(),
            "multiply" => new Multiply(),
            "average" => new Average(),
            "concatenate_last" => new Concatenate(),
            _ => new Concatenate(axis: 1),
        };
        var xs = kind == "concatenate_time" ? Inputs(3, [2, 3, 2], [2, 4, 2], [2, 1, 2]) : Inputs(3, [2, 3, 2], [2, 3, 2], [2, 3, 2]);
        var result = GradientChecker.Check(inputs => layer.CallMany(inputs, training: true)[0], xs);
        Assert.That(result.Elements, Is.EqualTo(xs.Sum(x => x.Size)));
    }

    [Test]
    public void BroadcastAddGradient()
    {
        var xs = Inputs(4, [2, 3, 2], [2, 1, 2]);
        var result = GradientChecker.Check(inputs => new Add().CallMany(inputs, training: true)[0], xs);
        Assert.That(result.Elements, Is.EqualTo(xs.Sum(x => x.Size)));
        Assert.That(new Add().ComputeOutputShapes([[3, 2], [1, 2]])[0], Is.EqualTo(new int?[] { 3, 2 }));
    }

    [Test]
    public void RepeatVectorGradient()
    {
        var x = Inputs(5, [3, 4]);
        var layer = new RepeatVector(5);
        var result = GradientChecker.Check(inputs => layer.Call(inputs[0], training: true), x);
        Assert.That(result.Elements, Is.EqualTo(12));
    }

    [Test]
    public void MismatchedShapesAreRefusedNamingTheLayerAndShapes()
    {
        var add = new Add(name: "sum");
        var ex = Assert.Throws<ShapeMismatchException>(() => add.ComputeOutputShapes([[3], [4]]));
        Assert.That(ex!.Message, Does.Contain("sum").And.Contain("(None, 3) and (None, 4)"));

        var concat = new Concatenate(name: "joined");
        ex = Assert.Throws<ShapeMismatchException>(() => concat.ComputeOutputShapes([[5, 2], [6, 3]]));
        Assert.That(ex!.Message, Does.Contain("joined").And.Contain("(None, 5, 2) and (None, 6, 3)"));
        Assert.That(concat.ComputeOutputShapes([[5, 2], [5, 3]])[0], Is.EqualTo(new int?[] { 5, 5 }));
        Assert.That(concat.ComputeOutputShapes([[null, 2], [5, 3]])[0], Is.EqualTo(new int?[] { 5, 5 }));

        ex = Assert.Throws<ShapeMismatchException>(() => new Multiply(name: "alone").ComputeOutputShapes([[3]]));
        Assert.That(ex!.Message, Does.Contain("alone").And.Contain("at least 2 inputs, got 1"));
        Assert.Throws<ShapeMismatchException>(() => new Average().Call(Tensor.Ones(new Shape(2, 3))));
        ex = Assert.Throws<ShapeMismatchException>(() => new Concatenate(axis: 0, name: "batchwise").ComputeOutputShapes([[3], [3]]));
        Assert.That(ex!.Message, Does.Contain("batchwise").And.Contain("axis 0"));

        ex = Assert.Throws<ShapeMismatchException>(() => new RepeatVector(2, name: "rep").Call(Tensor.Ones(new Shape(2, 3, 1))));
        Assert.That(ex!.Message, Does.Contain("rep").And.Contain("(batch, features)").And.Contain("(None, 3, 1)"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RepeatVector(0));
    }
}
