using Rnnx.Layers;

namespace Rnnx.Onnx;

/// <summary>
/// How a built-in cell maps onto one of ONNX's recurrent operators (RNN, LSTM, GRU); <see cref="RNN"/> uses it to
/// reorder the weights and wrap the time-major operator.
/// </summary>
/// <param name="OpType">The ONNX operator.</param>
/// <param name="Units">The hidden size.</param>
/// <param name="KerasGateOfOnnxGate">For each ONNX gate in ONNX order, the index of the same gate in Keras's weight layout.</param>
/// <param name="Kernel">The input kernel (features, gates·units).</param>
/// <param name="RecurrentKernel">The recurrent kernel (units, gates·units).</param>
/// <param name="Bias">The bias (gates·units,) or (2, gates·units) with separate recurrent biases, or null.</param>
/// <param name="Activations">The activations in the order of the operator's <c>activations</c> attribute.</param>
/// <param name="Attributes">Operator attributes besides activations, hidden size and direction.</param>
/// <param name="Peepholes">LSTM only: the diagonal peephole weights in ONNX's order of the <c>P</c> input (i, o, f), or null.</param>
internal sealed record OnnxRecurrentOperator(string OpType, int Units, int[] KerasGateOfOnnxGate, Parameter Kernel, Parameter RecurrentKernel,
    Parameter? Bias, Activation[] Activations, OnnxGraph.Attr[] Attributes, Parameter[]? Peepholes = null);
