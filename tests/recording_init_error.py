# test_lambda_runtime_error: init code fails
raise Exception("Runtime startup fails")
