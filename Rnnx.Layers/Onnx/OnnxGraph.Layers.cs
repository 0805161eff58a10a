using Rnnx.Layers;

namespace Rnnx.Onnx;

/// <summary>The pieces every layer's export shares: weights as initializers and the built-in activations.</summary>
internal sealed partial class OnnxGraph
{
    /// <summary>A weight as a float32 initializer named <c>{path}/{weight name}</c>.</summary>
    public string Weight(Parameter p, string path) =>
        Constant($"{path}/{p.Name}", p.Value.ToFloatArray(), p.Shape.ToArray().Select(d => (long)d).ToArray());

    /// <summary>Reverses the time axis (axis 1) of a (batch, time, ...) tensor: a Slice with step −1.</summary>
    public string FlipTime(string x, string path) =>
        Op("Slice", $"{path}/reversed", [x, ConstantInt64($"{path}/rev_start", -1), ConstantInt64($"{path}/rev_end", long.MinValue),
            ConstantInt64($"{path}/rev_axis", 1), ConstantInt64($"{path}/rev_step", -1)]);

    /// <summary>Applies a built-in activation to <paramref name="x"/> (the identity adds no node).</summary>
    /// <exception cref="NotSupportedException">A custom activation (named with the layer).</exception>
    public string Activate(Activation a, string x, string path) => a.Name switch
    {
        "linear" when a.IsLinear => x,
        "tanh" when ReferenceEquals(a, Activation.Tanh) => Op("Tanh", $"{path}/tanh", [x]),
        "sigmoid" when ReferenceEquals(a, Activation.Sigmoid) => Op("Sigmoid", $"{path}/sigmoid", [x]),
        "relu" when ReferenceEquals(a, Activation.Relu) => Op("Relu", $"{path}/relu", [x]),
        "softmax" when ReferenceEquals(a, Activation.Softmax) => Op("Softmax", $"{path}/softmax", [x], Attr.Int("axis", -1)),
        "softplus" when ReferenceEquals(a, Activation.Softplus) => Op("Softplus", $"{path}/softplus", [x]),
        "elu" when ReferenceEquals(a, Activation.Elu) => Op("Elu", $"{path}/elu", [x], Attr.Float("alpha", 1f)),
        "selu" when ReferenceEquals(a, Activation.Selu) => Op("Selu", $"{path}/selu", [x],
            Attr.Float("alpha", (float)Tensor.SeluAlpha), Attr.Float("gamma", (float)Tensor.SeluScale)),
        "swish" when ReferenceEquals(a, Activation.Swish) => Op("Mul", $"{path}/swish", [x, Op("Sigmoid", $"{path}/swish_gate", [x])]),
        "gelu" when ReferenceEquals(a, Activation.Gelu) => Gelu(x, path),
        _ => throw new NotSupportedException($"ONNX export: layer '{path}' uses the custom activation '{a.Name}', which cannot be exported (built-ins: tanh, sigmoid, relu, softmax, softplus, elu, selu, swish, gelu, linear)."),
    };

    /// <summary>Exact gelu for opsets before 20 (which lack a Gelu operator): ½ x (1 + Erf(x / √2)).</summary>
    private string Gelu(string x, string path)
    {
        var scaled = Op("Mul", $"{path}/gelu_scale", [x, Constant($"{path}/gelu_inv_sqrt2", [0.70710678118654752f])]);
        var onePlusErf = Op("Add", $"{path}/gelu_one_plus_erf", [Op("Erf", $"{path}/gelu_erf", [scaled]), Constant($"{path}/gelu_one", [1f])]);
        var half = Op("Mul", $"{path}/gelu_half_x", [x, Constant($"{path}/gelu_half", [0.5f])]);
        return Op("Mul", $"{path}/gelu", [half, onePlusErf]);
    }

    /// <summary>The ONNX recurrent operators' name of a built-in activation (<c>Affine</c> with α = 1, β = 0 for linear).</summary>
    /// <exception cref="NotSupportedException">A custom activation (named with the layer).</exception>
    public static string RecurrentActivationName(Activation a, string path) => a.Name switch
    {
        "tanh" when ReferenceEquals(a, Activation.Tanh) => "Tanh",
        "sigmoid" when ReferenceEquals(a, Activation.Sigmoid) => "Sigmoid",
        "relu" when ReferenceEquals(a, Activation.Relu) => "Relu",
        "linear" when a.IsLinear => "Affine",
        _ => throw new NotSupportedException($"ONNX export: recurrent layer '{path}' uses the custom activation '{a.Name}', which cannot be exported (built-ins: tanh, sigmoid, relu, linear)."),
    };
}
