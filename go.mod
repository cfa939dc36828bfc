module mailsim

go 1.26
