using System.Numerics;
using Rnnx.Kernels;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// Broadcasting add, subtract, multiply, divide. Backward produces the gradient in the broadcast (output) shape;
/// the tape sums it down to each input's shape (<see cref="Tape.AccumulateGrad{T}"/>).
/// </summary>
internal sealed class BinaryOp : Op
{
    private static readonly BinaryOp[] Instances =
    [
        new(BinaryKind.Add, "Add"), new(BinaryKind.Subtract, "Subtract"),
        new(BinaryKind.Multiply, "Multiply"), new(BinaryKind.Divide, "Divide"),
    ];

    private readonly BinaryKind _kind;
    private readonly string _name;

    private BinaryOp(BinaryKind kind, string name)
    {
        _kind = kind;
        _name = name;
    }

    public override string Name => _name;

    public static Tensor Apply(BinaryKind kind, Tensor a, Tensor b)
    {
        var op = Instances[(int)kind];
        var da = a.Data;
        var db = b.Data;
        if (da.DType != db.DType)
            throw new ArgumentException($"{op.Name}: dtypes differ, {da.DType} {da.Shape} and {db.DType} {db.Shape}.");
        if (!Shape.TryBroadcast(da.Shape, db.Shape, out var shape))
            throw new ShapeMismatchException($"{op.Name}: shapes {da.Shape} and {db.Shape} cannot be broadcast together.");
        var o = Tape.NewResult(shape, da.DType);
        if (o.DType == DType.Float32)
            Broadcasting.Binary(kind, da.Span<float>(), da.Shape.Dimensions, db.Span<float>(), db.Shape.Dimensions, o.Span<float>(), shape.Dimensions);
        else
            Broadcasting.Binary(kind, da.Span<double>(), da.Shape.Dimensions, db.Span<double>(), db.Shape.Dimensions, o.Span<double>(), shape.Dimensions);
        var tape = Tape.Recorder(da, db);
        if (tape is not null)
        {
            ref var e = ref tape.Record(op, o);
            e.A = da;
            e.B = db;
        }
        return new Tensor(o);
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        TensorData a = e.A!, b = e.B!, o = e.Out;
        var g = tape.GradOf<T>(o);
        var shape = o.Shape;
        switch (_kind)
        {
            case BinaryKind.Add:
                // d(a+b)/da = 1, d(a+b)/db = 1
                tape.AccumulateGrad(a, g, shape);
                tape.AccumulateGrad(b, g, shape);
                break;
            case BinaryKind.Subtract:
                // d(a-b)/da = 1, d(a-b)/db = -1
                tape.AccumulateGrad(a, g, shape);
                if (b.RequiresGrad)
                {
                    var s = tape.Scratch<T>(g.Length);
                    TP.Negate(g, s);
                    tape.AccumulateGrad(b, (ReadOnlySpan<T>)s, shape);
                }
                break;
            case BinaryKind.Multiply:
                // d(ab)/da = b, d(ab)/db = a
                if (a.RequiresGrad)
                {
                    var s = tape.Scratch<T>(g.Length);
                    Broadcasting.Binary(BinaryKind.Multiply, g, shape.Dimensions, b.Span<T>(), b.Shape.Dimensions, s, shape.Dimensions);
                    tape.AccumulateGrad(a, (ReadOnlySpan<T>)s, shape);
                }
                if (b.RequiresGrad)
                {
                    var s = tape.Scratch<T>(g.Length);
                    Broadcasting.Binary(BinaryKind.Multiply, g, shape.Dimensions, a.Span<T>(), a.Shape.Dimensions, s, shape.Dimensions);
                    tape.AccumulateGrad(b, (ReadOnlySpan<T>)s, shape);
                }
                break;
            default:
                // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -(a/b)/b = -out/b
                if (a.RequiresGrad)
                {
                    var s = tape.Scratch<T>(g.Length);
                    Broadcasting.Binary(BinaryKind.Divide, g, shape.Dimensions, b.Span<T>(), b.Shape.Dimensions, s, shape.Dimensions);
                    tape.AccumulateGrad(a, (ReadOnlySpan<T>)s, shape);
                }
                if (b.RequiresGrad)
                {
                    var s = tape.Scratch<T>(g.Length);
                    TP.Multiply(g, o.Span<T>(), s);
                    TP.Negate(s, s);
                    Broadcasting.Binary(BinaryKind.Divide, s, shape.Dimensions, b.Span<T>(), b.Shape.Dimensions, s, shape.Dimensions);
                    tape.AccumulateGrad(b, (ReadOnlySpan<T>)s, shape);
                }
                break;
        }
    }
}

/// <summary>The unary element-wise functions.</summary>
internal enum UnaryKind { Negate, Exp, Log, Sqrt, Square, Tanh, Sigmoid, Relu, Abs, Softplus, Gelu, Elu, Selu, Swish }

/// <summary>
/// Unary element-wise maps. Where cheaper, backward uses the saved output y (exp' = y, tanh' = 1 - y^2,
/// sigmoid' = y(1 - y), sqrt' = 1/(2y), relu' = [y &gt; 0], elu' = y + 1 and selu' = y + scale·α below 0); log, square,
/// abs, softplus (σ(x)), gelu and swish use the input.
/// </summary>
internal sealed class UnaryOp : Op
{
    private static readonly UnaryOp[] Instances =
        [new(UnaryKind.Negate), new(UnaryKind.Exp), new(UnaryKind.Log), new(UnaryKind.Sqrt), new(UnaryKind.Square),
         new(UnaryKind.Tanh), new(UnaryKind.Sigmoid), new(UnaryKind.Relu), new(UnaryKind.Abs),
         new(UnaryKind.Softplus), new(UnaryKind.Gelu), new(UnaryKind.Elu), new(UnaryKind.Selu), new(UnaryKind.Swish)];

    private readonly UnaryKind _kind;

    private UnaryOp(UnaryKind kind) => _kind = kind;

    public override string Name => _kind.ToString();

    public static Tensor Apply(UnaryKind kind, Tensor x)
    {
        var dx = x.Data;
        var o = Tape.NewResult(dx.Shape, dx.DType);
        if (o.DType == DType.Float32) Forward(kind, dx.Span<float>(), o.Span<float>());
        else Forward(kind, dx.Span<double>(), o.Span<double>());
        var tape = Tape.Recorder(dx);
        if (tape is not null)
        {
            ref var e = ref tape.Record(Instances[(int)kind], o);
            e.A = dx;
        }
        return new Tensor(o);
    }

    private static void Forward<T>(UnaryKind kind, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        switch (kind)
        {
            case UnaryKind.Negate: Elementwise.Negate(x, y); break;
            case UnaryKind.Exp: Elementwise.Exp(x, y); break;
            case UnaryKind.Log: Elementwise.Log(x, y); break;
            case UnaryKind.Sqrt: Elementwise.Sqrt(x, y); break;
            case UnaryKind.Square: Elementwise.Square(x, y); break;
            case UnaryKind.Tanh: Elementwise.Tanh(x, y); break;
            case UnaryKind.Sigmoid: Elementwise.Sigmoid(x, y); break;
            case UnaryKind.Relu: Elementwise.Relu(x, y); break;
            case UnaryKind.Softplus: ActivationKernels.Map(x, y, ActivationKernels.Softplus); break;
            case UnaryKind.Gelu: ActivationKernels.Map(x, y, ActivationKernels.Gelu); break;
            case UnaryKind.Elu: ActivationKernels.Map(x, y, ActivationKernels.Elu); break;
            case UnaryKind.Selu: ActivationKernels.Map(x, y, ActivationKernels.Selu); break;
            case UnaryKind.Swish: ActivationKernels.Map(x, y, ActivationKernels.Swish); break;
            default: TP.Abs(x, y); break;
        }
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var a = e.A!;
        if (!a.RequiresGrad) return;
        var g = tape.GradOf<T>(e.Out);
        var y = e.Out.Span<T>();
        var x = a.Span<T>();
        var dx = tape.Grad<T>(a);
        switch (_kind)
        {
            case UnaryKind.Negate: TP.Subtract(dx, g, dx); break;                       // -g
            case UnaryKind.Exp: Elementwise.MultiplyAddInPlace(dx, g, y); break;        // g * y
            case UnaryKind.Log:                                                         // g / x
                for (int i = 0; i < dx.Length; i++) dx[i] += g[i] / x[i];
                break;
            case UnaryKind.Sqrt:                                                        // g / (2 y)
                for (int i = 0; i < dx.Length; i++) dx[i] += g[i] / (y[i] + y[i]);
                break;
            case UnaryKind.Square:                                                      // 2 x g
                for (int i = 0; i < dx.Length; i++) dx[i] += (x[i] + x[i]) * g[i];
                break;
            case UnaryKind.Tanh: Elementwise.TanhBackwardAccumulate(dx, g, y); break;   // g (1 - y^2)
            case UnaryKind.Sigmoid: Elementwise.SigmoidBackwardAccumulate(dx, g, y); break; // g y (1 - y)
            case UnaryKind.Relu: Elementwise.ReluBackwardAccumulate(dx, g, y); break;   // g [y > 0]
            case UnaryKind.Softplus: ActivationKernels.BackwardAccumulate(dx, g, x, y, static (xi, _) => ActivationKernels.Sigmoid(xi)); break;
            case UnaryKind.Gelu: ActivationKernels.BackwardAccumulate(dx, g, x, y, static (xi, _) => ActivationKernels.GeluDerivative(xi)); break;
            case UnaryKind.Elu: ActivationKernels.BackwardAccumulate(dx, g, x, y, static (xi, yi) => xi > 0 ? 1 : yi + 1); break;
            case UnaryKind.Selu:
                ActivationKernels.BackwardAccumulate(dx, g, x, y, static (xi, yi) => xi > 0 ? ActivationKernels.SeluScale : yi + ActivationKernels.SeluScale * ActivationKernels.SeluAlpha);
                break;
            case UnaryKind.Swish: ActivationKernels.BackwardAccumulate(dx, g, x, y, static (xi, _) => ActivationKernels.SwishDerivative(xi)); break;
            default:                                                                    // g sign(x), 0 at 0
                for (int i = 0; i < dx.Length; i++)
                    if (x[i] > T.Zero) dx[i] += g[i];
                    else if (x[i] < T.Zero) dx[i] -= g[i];
                break;
        }
    }
}
